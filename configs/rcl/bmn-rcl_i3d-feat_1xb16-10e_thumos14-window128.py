# BMN + RCL on THUMOS14 I3D features (RCL, CVPR 2022, Table 1: RCL on a BMN
# base with the two-stream I3D features), in 128-snippet windows
# (configs/_base_/datasets/thumos14_i3d_bmn_windows.py; the window length is
# not in the paper). Trained as the paper on THUMOS14 (Sec. 4.1): Adam,
# batch 16, lr 6e-6 (the value the paper prints for THUMOS14) for 5 epochs,
# then / 10 for 5; M = 10, lambda_1 = 10, lambda_2 = 1, lambda_3 = 1e-5,
# alpha = 0.8, tau = 0.7 (configs/_base_/models/bmn_rcl_400x100.py).
# Proposals of the windows -> top-200 per video (the paper's Q on THUMOS14)
# and, with a video-level classifier, detections: tools/bmn_windows.py
# stitch (docs/rcl.md, "THUMOS14"). No accuracy figure: THUMOS14 I3D
# features cannot be downloaded on the project's machines.
_base_ = [
    '../_base_/models/bmn_rcl_400x100.py',
    '../_base_/datasets/thumos14_i3d_bmn_windows.py',
    '../_base_/schedules/rcl_adam_10e.py', '../_base_/default_runtime.py'
]
model = dict(temporal_dim=128, feat_dim=2048)
optim_wrapper = dict(optimizer=dict(lr=6e-6))
work_dir = './work_dirs/bmn_rcl_thumos14_window128'
val_evaluator = dict(dump_config=dict(out=work_dir + '/results.json'))
test_evaluator = val_evaluator
