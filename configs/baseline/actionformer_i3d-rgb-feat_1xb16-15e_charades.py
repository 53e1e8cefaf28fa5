# ActionFormer on Charades with I3D RGB features: data, schedule and NMS follow
# OpenTAD's configs/actionformer/charades_i3d_rgb.py (AdamW 1e-4 wd 0.05, 5
# warm-up epochs, cosine scheduled to 20 but stopped at 15, batch 16, Soft-NMS
# sigma 0.3, 1000 segments); the architecture keeps mmtal_zoom's ActionFormer
# defaults (6 levels, local attention; OpenTAD's versions differ in levels,
# width and absolute position encoding). Published number: OpenTAD's
# ActionFormer model zoo (I3D RGB): 20.60 average mAP (0.1:0.9). Not yet
# measured here.
_base_ = [
    '../_base_/models/actionformer.py',
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
