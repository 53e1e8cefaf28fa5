# ActionFormer's THUMOS14 schedule: AdamW 1e-4, wd 0.05, 5 warm-up + 30
# cosine epochs, gradient clipping 1.0, EMA 0.999.
max_epochs = 35
warmup_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
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
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
custom_hooks = [dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')]
