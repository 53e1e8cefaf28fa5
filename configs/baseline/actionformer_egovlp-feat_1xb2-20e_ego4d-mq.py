# ActionFormer on Ego4D-MQ with EgoVLP features: data, schedule and NMS follow
# OpenTAD's configs/actionformer/ego4d_egovlp.py (AdamW 1e-4 wd 0.05, 5 warm-up
# epochs, cosine scheduled to 25 but stopped at 20, batch 2, Soft-NMS sigma
# 2.0, 2000 segments); the architecture keeps mmtal_zoom's ActionFormer
# defaults (6 levels, local attention; OpenTAD's versions differ in levels,
# width and absolute position encoding). Published number: OpenTAD's
# ActionFormer model zoo (EgoVLP): 22.13 average mAP on val. Not yet measured
# here.
_base_ = [
    '../_base_/models/actionformer.py',
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
