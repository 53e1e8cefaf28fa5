# Stock MMAction2 BMN on THUMOS14 I3D features in 128-snippet windows
# (configs/_base_/datasets/thumos14_i3d_bmn_windows.py; BMN runs on THUMOS14
# in windows, its 100-point rescaling is for ActivityNet): MMAction2's BMN
# widths and schedule, temporal_dim = the window. The reference of
# bmn-rcl_i3d-feat_1xb16-10e_thumos14-window128.py. A 128 x 128
# boundary-matching map: BMN's sampling tensor grows as T^3 (268 MB at 128
# snippets, 2.1 GB at 256). Video-level proposals / detections:
# tools/bmn_windows.py stitch (docs/rcl.md, "THUMOS14").
_base_ = [
    '../_base_/models/bmn_400x100.py',
    '../_base_/datasets/thumos14_i3d_bmn_windows.py',
    '../_base_/schedules/bmn_adam_9e.py', '../_base_/default_runtime.py'
]
model = dict(temporal_dim=128, feat_dim=2048)
work_dir = './work_dirs/bmn_thumos14_window128'
val_evaluator = dict(dump_config=dict(out=work_dir + '/results.json'))
test_evaluator = val_evaluator
