# Temporal Zoom Networks (ATR + BDR) in the THUMOS14 I3D setting
# (ActionFormer's recipe for everything that is not ATR / BDR: 2048-d,
# stride 4, 16 frames, max_seq_len 2304, 512-d, window 19, 4 heads, 6 levels,
# AdamW 1e-4, 5 + 30 epochs, batch 2, EMA, Gaussian Soft-NMS sigma 0.5, tIoU
# 0.3:0.7). 1 shallow + 4 deep blocks, mean depth budget 0.25 (temperature
# 1 -> 0.5).
_base_ = [
    '../_base_/models/zoom_atr.py', '../_base_/datasets/thumos14_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
custom_hooks = [
    dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL'),
    {{_base_.atr_budget_hook}},
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
# The router is small and its gradient (through the depth weights) weak:
# a 10x learning rate lets it learn token-dependent depths in a short
# schedule.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.router': dict(lr_mult=10.0)}))
