# MMAction2's BMN (configs/_base_/models/bmn_400x100.py of mmaction2 1.2.0):
# 400-d features rescaled to 100 points, 100 x 100 boundary-matching map.
model = dict(
    type='BMN',
    temporal_dim=100,
    boundary_ratio=0.5,
    num_samples=32,
    num_samples_per_bin=3,
    feat_dim=400,
    soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100)
