# The charades schedule shared by every method config of that
# dataset (OpenTAD's for it): AdamW, wd 0.05, linear warm-up then cosine,
# stopped at max_epochs before the cosine's end; clipping and decay groups of
# adamw_cosine_35e.py.
_base_ = ['./adamw_cosine_35e.py']

max_epochs = 15
warmup_epochs = 5
# the schedule's length; training stops at max_epochs
cosine_end = 20
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=cosine_end, T_max=cosine_end - warmup_epochs, eta_min=1e-8,
         convert_to_iter_based=True),
]
