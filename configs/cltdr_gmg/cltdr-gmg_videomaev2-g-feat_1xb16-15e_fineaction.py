# CLTDR-GMG on FineAction with VideoMAEv2-g features: data, schedule and NMS as
# the ActionFormer config of this dataset
# (configs/baseline/actionformer_videomaev2-g-feat_1xb16-15e_fineaction.py),
# the model at its THUMOS14 sizes. The CLTDR-GMG paper reports no number on
# this dataset; not yet measured here.
_base_ = [
    '../_base_/models/cltdr_gmg.py',
    '../_base_/datasets/fineaction_videomaev2_g.py',
    '../_base_/schedules/adamw_cosine_35e.py', '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(max_seq_len=2304),
    backbone=dict(in_channels=1408),
    head=dict(
        num_classes=106,
        test_cfg=dict(nms=dict(sigma=0.75, max_num=100))))

max_epochs = 15
warmup_epochs = 5
# the schedule's length; training stops at max_epochs
cosine_end = 15
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=cosine_end, T_max=cosine_end - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
