# CLTDR-GMG on ActivityNet-1.3 with TSP features: L = 7 levels (paper,
# Implementation Details), 512-d input, stride 16 at 15 fps, max_seq_len
# 768, 256-d pyramid, FFN 2048, 512-d head towers, local window 15, 12
# Trident bins, IoU weight power 1, input noise 0.5, AdamW 1e-3 (cosine to
# 2e-5) wd 0.045, 10 warm-up + 5 cosine epochs, batch 16, clip 0.4,
# Soft-NMS sigma 0.7, 200 segments, duration threshold 0.1, tIoU
# 0.5:0.05:0.95 (the authors' configs/anet_tsp.yaml). Paper Table 4: 37.1
# average mAP -- obtained there with a class-agnostic detector (1 class)
# fused with external video-level classification scores (CUHK): that is
# cltdr-gmg-fusion_tsp-feat_1xb16-15e_activitynet.py; this config is a
# stand-alone 200-class detector. The authors' absolute position encoding
# and label smoothing are not implemented.
_base_ = [
    '../_base_/models/cltdr_gmg.py', '../_base_/datasets/anet13_tsp.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
num_levels = 7
model = dict(
    data_preprocessor=dict(max_seq_len=768,
                           pad_size_divisor=2**(num_levels - 1),
                           noise_std=0.5),
    backbone=dict(in_channels=512, embed_dims=256),
    neck=dict(in_channels=256, num_levels=num_levels, ffn_dims=2048,
              local_kernel_size=15),
    head=dict(
        num_classes=200, in_channels=256, feat_channels=512, num_bins=12,
        iou_weight_power=1.0, loss_normalizer=400.0,
        prior_generator=dict(
            strides=[2**i for i in range(num_levels)],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                               (64, 128), (128, 10000)]),
        test_cfg=dict(duration_thresh=0.1,
                      nms=dict(sigma=0.7, max_num=200))))

max_epochs = 15
warmup_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.045),
                     clip_grad=dict(max_norm=0.4, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=2e-5,
         convert_to_iter_based=True),
]
train_dataloader = dict(batch_size=16)
