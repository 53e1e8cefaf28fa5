# The CPU-sized schedule of the embedded configs: ActionFormer's recipe
# (AdamW, weight decay 0.05 on conv / linear weights only, linear warm-up then
# cosine decay, gradient clipping 1.0) for small models (128-d) and small
# datasets. Batch 2 (set in the dataset bases), lr 2e-4, 30 epochs of which 3
# warm-up: 1,200 iterations on 80 training videos, 2,250 on 150.
# Set once on the benchmark family's val splits (docs/robustness.md): the
# previous 12 epochs at lr 1e-3 and batch 4 (240 iterations on 80 videos)
# stopped learning on data it was not tuned on -- ActionFormer's official
# code does too at those settings. No EMA of the weights: over ~1,000
# iterations a slow average mostly keeps early weights, and a fast one
# equals the final (cosine-annealed) weights.
max_epochs = 30
warmup_epochs = 3
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
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
