# Temporal Zoom Networks (ATR + BDR) on the embedded benchmark, same sizes,
# data and schedule as
# temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py. Mean depth
# budget 0.25 of the 4 deep layers (router temperature annealed 1.0 -> 0.5),
# BDR snapping within 2 snippets.
_base_ = [
    '../_base_/models/zoom_atr.py', '../_base_/datasets/embedded.py',
    '../_base_/schedules/adamw_cosine_cpu.py',
    '../_base_/default_runtime.py'
]
embed_dims = 128
model = dict(
    data_preprocessor=dict(max_seq_len=768, pad_size_divisor=32),
    backbone=dict(in_channels=256, embed_dims=embed_dims, window_size=9),
    neck=dict(in_channels=embed_dims, window_size=9),
    head=dict(
        base_head=dict(num_classes=10, in_channels=embed_dims,
                       feat_channels=embed_dims),
        bdr=dict(in_channels=embed_dims, feat_channels=embed_dims,
                 num_convs=1)))
# No EMA, like the CPU schedule (adamw_cosine_cpu.py) and the uniform model:
# the comparison stays fair.
custom_hooks = [
    {{_base_.atr_budget_hook}},
]
# The router is small and its gradient (through the depth weights) weak:
# a 10x learning rate lets it learn token-dependent depths in a short
# schedule.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.router': dict(lr_mult=10.0)}))
