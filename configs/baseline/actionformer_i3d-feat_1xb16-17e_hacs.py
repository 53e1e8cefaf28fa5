# ActionFormer on HACS Segments with I3D RGB features (2048-d at 2 fps,
# max_seq_len 512, 200 classes, tIoU 0.5:0.05:0.95), trained with the
# schedule of the CLTDR-GMG HACS config so the two compare directly: AdamW
# 1e-3 wd 0.03, 12 warm-up + 5 cosine epochs, batch 16, Soft-NMS sigma
# 0.75, 250 segments; the architecture keeps mmtal_zoom's ActionFormer
# defaults. No published ActionFormer number with these features is known
# to us (OpenTAD's ActionFormer reports 37.71 with SlowFast features, a
# different input). Not yet measured here.
_base_ = [
    '../_base_/models/actionformer.py', '../_base_/datasets/hacs_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
model = dict(
    data_preprocessor=dict(max_seq_len=512),
    backbone=dict(in_channels=2048),
    head=dict(num_classes=200,
              test_cfg=dict(nms=dict(sigma=0.75, max_num=250))))

max_epochs = 17
warmup_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.03))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
train_dataloader = dict(batch_size=16)
