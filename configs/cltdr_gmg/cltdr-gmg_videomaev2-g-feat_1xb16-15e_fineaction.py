# CLTDR-GMG on FineAction with VideoMAEv2-g features: data, schedule and NMS as
# the ActionFormer config of this dataset
# (configs/baseline/actionformer_videomaev2-g-feat_1xb16-15e_fineaction.py),
# the model at its THUMOS14 sizes. The CLTDR-GMG paper reports no number on
# this dataset; not yet measured here.
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/fineaction_videomaev2_g.py',
    '../_base_/schedules/adamw_cosine_fineaction.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=2304),
    backbone=dict(in_channels=1408),
    head=dict(
        num_classes=106,
        test_cfg=dict(nms=dict(sigma=0.75, max_num=100))))
