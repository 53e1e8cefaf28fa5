# BMN's schedule (Adam 1e-3, wd 1e-4, x0.1 for the last epochs, clipping
# 40) shortened for the CPU-sized embedded ActivityNet-format set: 8 epochs
# (stock: 9), lr step after 7 (as stock); evaluation on 'val' at the end.
_base_ = ['./bmn_adam_9e.py']
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[7], gamma=0.1)
]
