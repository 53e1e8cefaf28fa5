# The field's standard THUMOS14 I3D setting, ActionFormer's recipe: 2048-d
# features, stride 4, 16 frames, 30 fps, max_seq_len 2304, 512-d embedding,
# local window 19, 4 heads, 2 conv + 2 stem + 5 stride-2 blocks (6 levels),
# AdamW 1e-4 wd 0.05, 5 warm-up + 30 cosine epochs, batch 2, clip 1.0,
# EMA 0.999, Gaussian Soft-NMS sigma 0.5, tIoU 0.3:0.7.
# ActionFormer reports 66.8 average mAP with it on real features.
_base_ = [
    '../_base_/models/actionformer.py', '../_base_/datasets/thumos14_i3d.py',
    '../_base_/schedules/adamw_cosine_35e.py',
    '../_base_/default_runtime.py'
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
