# Stock MMAction2 BMN on the embedded ActivityNet-format set: the baseline of
# configs/rcl/bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py (same data,
# pipeline, metric, schedule).
_base_ = [
    '../_base_/models/bmn_400x100.py',
    '../_base_/datasets/anet_bmn_embedded.py',
    '../_base_/schedules/bmn_adam_cpu.py', '../_base_/default_runtime.py'
]
# CPU-sized: BMN's hidden widths at a quarter (256/128/512 -> 64/32/128);
# the RCL config uses the same base module and temporal evaluation module.
model = dict(hidden_dim_1d=64, hidden_dim_2d=32, hidden_dim_3d=128)
work_dir = './work_dirs/bmn_anet_embedded'
val_evaluator = dict(dump_config=dict(out=work_dir + '/results.json'))
test_evaluator = val_evaluator
