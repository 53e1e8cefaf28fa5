# CLTDR-GMG on Ego4D-MQ with EgoVLP features: data, schedule and NMS as the
# ActionFormer config of this dataset
# (configs/baseline/actionformer_egovlp-feat_1xb2-20e_ego4d-mq.py), the model
# at its THUMOS14 sizes. The CLTDR-GMG paper reports no number on this dataset;
# not yet measured here.
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/ego4d_mq_egovlp.py',
    '../_base_/schedules/adamw_cosine_ego4d-mq.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=1024),
    backbone=dict(in_channels=256),
    head=dict(
        num_classes=110,
        test_cfg=dict(nms=dict(sigma=2.0, max_num=2000))))
