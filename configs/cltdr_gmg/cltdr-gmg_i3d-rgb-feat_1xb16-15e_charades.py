# CLTDR-GMG on Charades with I3D RGB features: data, schedule and NMS as the
# ActionFormer config of this dataset
# (configs/baseline/actionformer_i3d-rgb-feat_1xb16-15e_charades.py), the model
# at its THUMOS14 sizes. The CLTDR-GMG paper reports no number on this dataset;
# not yet measured here.
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/charades_i3d_rgb.py',
    '../_base_/schedules/adamw_cosine_charades.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=768),
    backbone=dict(in_channels=1024),
    head=dict(
        num_classes=157,
        test_cfg=dict(nms=dict(sigma=0.3, max_num=1000))))
