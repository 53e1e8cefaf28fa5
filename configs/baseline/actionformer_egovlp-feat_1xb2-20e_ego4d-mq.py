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
    '../_base_/schedules/adamw_cosine_35e.py', '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=1024),
    backbone=dict(in_channels=256),
    head=dict(
        num_classes=110,
        test_cfg=dict(nms=dict(sigma=2.0, max_num=2000))))

max_epochs = 20
warmup_epochs = 5
# the schedule's length; training stops at max_epochs
cosine_end = 25
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=cosine_end, T_max=cosine_end - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
