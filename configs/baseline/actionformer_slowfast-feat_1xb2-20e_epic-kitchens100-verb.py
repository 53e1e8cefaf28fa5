# ActionFormer on EPIC-KITCHENS-100 verbs with SlowFast features: 97
# classes, 2304-d, stride 16, 32 frames, max_seq_len 2304, AdamW 1e-4 wd
# 0.05, 5 warm-up + 15 cosine epochs, batch 2, Soft-NMS sigma 0.4, 2000
# segments, tIoU 0.1:0.5 (the schedule and NMS of ActionFormer's / OpenTAD's
# EPIC configs; the architecture keeps mmtal_zoom's ActionFormer defaults).
# ActionFormer paper ("ActionFormer: Localizing Moments of Actions with
# Transformers", EPIC-KITCHENS table): 23.5 average mAP (verb). Not yet
# measured here.
_base_ = [
    '../_base_/models/actionformer.py',
    '../_base_/datasets/epic_kitchens100_slowfast.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(in_channels=2304),
    head=dict(num_classes=97,
              test_cfg=dict(nms=dict(sigma=0.4, max_num=2000))))

max_epochs = 20
warmup_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
