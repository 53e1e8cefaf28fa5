# A short schedule for the CPU-sized embedded benchmark: AdamW, linear
# warm-up then cosine decay, gradient clipping, EMA (ActionFormer's recipe,
# fewer epochs). Checkpoints are selected on the 'val' split only.
max_epochs = 12
warmup_epochs = 2
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    # ActionFormer's decay groups: only conv / linear weights decay; biases,
    # norms, LayerScale and the heads' Scale parameters do not
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0,
                       custom_keys={'.scale': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         convert_to_iter_based=True),
]
# EMA decay 0.99 (not ActionFormer's 0.999): this schedule has only a few
# hundred iterations, and a 1000-iteration average would still be mostly
# the initial weights at the end.
custom_hooks = [dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')]
