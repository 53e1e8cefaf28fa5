# CLTDR-GMG on HACS Segments with I3D features: L = 7 levels (paper), 2048-d
# input at 2 fps (stride 1, 1 frame), max_seq_len 512, 1024-d pyramid, FFN
# 1024, 1024-d head towers with kernel 5, boundary kernel 1, local window
# 15, 12 Trident bins, IoU weight power 1, AdamW 1e-3 (cosine to 1e-4) wd
# 0.03, 12 warm-up + 5 cosine epochs, batch 16, clip 1.0, Soft-NMS sigma
# 0.75, 250 segments, tIoU 0.5:0.05:0.95 (the authors'
# configs/hacs_i3d_focalloss.yaml). Paper Table 5: 37.2 average mAP. The
# authors' absolute position encoding and label smoothing are not
# implemented.
_base_ = [
    '../_base_/models/cltdr_gmg.py', '../_base_/datasets/hacs_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
num_levels = 7
model = dict(
    data_preprocessor=dict(max_seq_len=512,
                           pad_size_divisor=2**(num_levels - 1),
                           noise_std=0.0),
    backbone=dict(in_channels=2048, embed_dims=1024),
    neck=dict(in_channels=1024, num_levels=num_levels, ffn_dims=1024,
              local_kernel_size=15),
    head=dict(
        num_classes=200, in_channels=1024, feat_channels=1024,
        kernel_size=5, boundary_kernel_size=1, num_bins=12,
        iou_weight_power=1.0, loss_normalizer=400.0,
        prior_generator=dict(
            strides=[2**i for i in range(num_levels)],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                               (64, 128), (128, 10000)]),
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
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-4,
         convert_to_iter_based=True),
]
train_dataloader = dict(batch_size=16)
