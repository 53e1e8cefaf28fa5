# ActionFormer on MultiTHUMOS (65 dense, multi-label classes on the THUMOS14
# videos) with THUMOS14's I3D features: max_seq_len 2304, AdamW 1e-4 wd
# 0.05, 5 warm-up epochs, cosine scheduled to 65 but stopped at 45, batch
# 2, Soft-NMS sigma 0.5, 8000 segments, tIoU 0.1:0.9 (OpenTAD's
# configs/actionformer/multithumos_i3d.py; the architecture keeps
# mmtal_zoom's ActionFormer defaults). No published ActionFormer number on
# MultiTHUMOS is known to us. Not yet measured here.
_base_ = [
    '../_base_/models/actionformer.py',
    '../_base_/datasets/multithumos_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    head=dict(num_classes=65,
              test_cfg=dict(nms=dict(sigma=0.5, max_num=8000))))

max_epochs = 45
warmup_epochs = 5
# the schedule's length; training stops at max_epochs
cosine_end = 65
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=cosine_end, T_max=cosine_end - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
