# Uniform-compute baseline (ActionFormer parts) on the embedded benchmark,
# CPU-sized: trains and evaluates in minutes on 2 cores.
_base_ = [
    '../_base_/models/actionformer.py', '../_base_/datasets/embedded.py',
    '../_base_/schedules/adamw_cosine_cpu.py',
    '../_base_/default_runtime.py'
]
embed_dims = 128
num_levels = 6
model = dict(
    data_preprocessor=dict(max_seq_len=768, pad_size_divisor=32),
    backbone=dict(in_channels=256, embed_dims=embed_dims),
    neck=dict(in_channels=embed_dims, num_levels=num_levels, num_heads=4,
              window_size=9, drop_path=0.1),
    head=dict(num_classes=10, in_channels=embed_dims,
              feat_channels=embed_dims))
