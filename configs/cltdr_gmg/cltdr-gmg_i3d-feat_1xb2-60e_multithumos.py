# CLTDR-GMG on MultiTHUMOS with two-stream I3D features (the authors'
# configs/multithumos_i3d.yaml): 65 classes, 2048-d, stride 4, max_seq_len
# 2304, 6 levels, 512-d, FFN 1024, 16 Trident bins, IoU weight power 0.2,
# input noise 0.0005, AdamW 1.5e-4 wd 0.03, 25 warm-up + 35 cosine epochs,
# batch 2, clip 1.0, pre-NMS top 8000 / 8000 segments, tIoU 0.1:0.9.
# Paper Table 2 (RGB + flow I3D): 42.7 average mAP.
_base_ = [
    '../_base_/models/cltdr_gmg.py', '../_base_/datasets/multithumos_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=2304, noise_std=0.0005),
    backbone=dict(in_channels=2048, embed_dims=512),
    neck=dict(in_channels=512, num_levels=6, ffn_dims=1024),
    head=dict(num_classes=65, in_channels=512, feat_channels=512,
              num_bins=16, iou_weight_power=0.2, loss_reg=dict(mode='diou'),
              test_cfg=dict(pre_nms_topk=8000, nms=dict(max_num=8000))))

max_epochs = 60
warmup_epochs = 25
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1.5e-4, weight_decay=0.03))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
