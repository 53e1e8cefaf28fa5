# CLTDR-GMG on EPIC-KITCHENS-100 verbs with SlowFast features (the authors'
# configs/epic_slowfast_verb_vflloss.yaml): 97 classes, 2304-d, stride 16,
# 32 frames, max_seq_len 2304, 6 levels with overlapping regression ranges,
# 512-d, FFN 768, local window 5, 16 Trident bins, IoU weight power 0.25,
# input noise 0.0003, AdamW 1e-4 (cosine to 5e-5) wd 0.04, 16 warm-up + 12
# cosine epochs, batch 2, clip 1.0, Soft-NMS sigma 0.4, pre-NMS top 5000,
# 2000 segments, tIoU 0.1:0.5. Paper Table 3: 26.0 average mAP (verb).
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/epic_kitchens100_slowfast.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=2304, noise_std=0.0003),
    backbone=dict(in_channels=2304, embed_dims=512),
    neck=dict(in_channels=512, num_levels=6, ffn_dims=768,
              local_kernel_size=5),
    head=dict(
        num_classes=97, in_channels=512, feat_channels=512, num_bins=16,
        iou_weight_power=0.25, loss_normalizer=250.0,
        prior_generator=dict(regression_ranges=[
            (0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)]),
        test_cfg=dict(pre_nms_topk=5000, nms=dict(sigma=0.4, max_num=2000))))

max_epochs = 28
warmup_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.04))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=5e-5,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))
