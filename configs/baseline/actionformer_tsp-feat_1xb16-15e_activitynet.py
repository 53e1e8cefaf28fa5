# ActionFormer on ActivityNet-1.3 with TSP R(2+1)D features, as a
# stand-alone 200-class detector: 512-d input, 256-d projection, pyramid and
# head, max_seq_len 768 (features at their own length; ActionFormer resizes
# every video to 192 instead), label smoothing 0.1, AdamW 1e-3 wd 0.05, 5
# warm-up + 10 cosine epochs, batch 16, Soft-NMS sigma 0.75, 100 segments,
# tIoU 0.5:0.05:0.95 (ActionFormer's configs/anet_tsp.yaml where it
# applies). ActionFormer's published ActivityNet number (36.6 average mAP)
# is the class-agnostic detector fused with video-level classification
# scores: actionformer-fusion_tsp-feat_1xb16-15e_activitynet.py. Not yet
# measured here.
_base_ = [
    '../_base_/models/actionformer.py', '../_base_/datasets/anet13_tsp.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 1 GPU x batch 16
model = dict(
    data_preprocessor=dict(max_seq_len=768),
    backbone=dict(in_channels=512, embed_dims=256),
    neck=dict(in_channels=256),
    head=dict(
        num_classes=200, in_channels=256, feat_channels=256,
        label_smoothing=0.1,
        test_cfg=dict(duration_thresh=0.001,
                      nms=dict(sigma=0.75, max_num=100))))

max_epochs = 15
warmup_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
train_dataloader = dict(batch_size=16)
