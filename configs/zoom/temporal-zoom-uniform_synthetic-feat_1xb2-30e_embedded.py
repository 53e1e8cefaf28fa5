# Uniform-depth baseline of Temporal Zoom Networks on the embedded benchmark:
# the Zoom network with ATR off (every token through all 4 deep layers) and
# no BDR. CPU-sized like
# configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py: 256-d
# features, 128-d model, window 9, 6 levels, max_seq_len 768.
_base_ = [
    '../_base_/models/zoom_uniform.py', '../_base_/datasets/embedded.py',
    '../_base_/schedules/adamw_cosine_cpu.py',
    '../_base_/default_runtime.py'
]
embed_dims = 128
model = dict(
    data_preprocessor=dict(max_seq_len=768, pad_size_divisor=32),
    backbone=dict(in_channels=256, embed_dims=embed_dims, window_size=9),
    neck=dict(in_channels=embed_dims, window_size=9),
    head=dict(num_classes=10, in_channels=embed_dims,
              feat_channels=embed_dims))
