# ActionFormer on FineAction with VideoMAEv2-g features: data, schedule and NMS
# follow OpenTAD's configs/actionformer/fineaction_videomaev2_g.py (AdamW 1e-3
# wd 0.05, 5 warm-up + 10 cosine epochs, batch 16, Soft-NMS sigma 0.75, 100
# segments); the architecture keeps mmtal_zoom's ActionFormer defaults (6
# levels, local attention; OpenTAD's versions differ in levels, width and
# absolute position encoding). Published number: OpenTAD's ActionFormer model
# zoo (VideoMAEv2-g, class-agnostic + InternVideo video classifier): 19.62
# average mAP; this config is the stand-alone 106-class detector, so expect a
# different number. Not yet measured here.
_base_ = [
    '../_base_/models/actionformer.py',
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
