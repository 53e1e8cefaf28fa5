# BMN + RCL on ActivityNet-1.3 with the 400-d TSN features of MMAction2's
# BMN recipe (bmn_2xb8-400x100-9e_activitynet-feature.py: same data layout,
# 2 GPUs x batch 8 = the paper's batch 16), trained and scored as the paper
# (RCL, Table 2-3, TSN rows; Sec. 4.1): Adam 1e-3 for 5 epochs then 1e-4 for
# 5, RAFT-style stage weights, score p^1 * p^2 without BMN's boundary
# probabilities, Soft-NMS 0.3 over the refined grid (RCLHead's defaults).
# Prepare the data as MMAction2's docs describe (tools/data/activitynet):
# data/ActivityNet/anet_anno_{train,val}.json and
# data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/<video>.csv.
_base_ = [
    '../_base_/models/bmn_rcl_400x100.py',
    '../_base_/datasets/anet_bmn_feature.py',
    '../_base_/schedules/rcl_adam_10e.py', '../_base_/default_runtime.py'
]
work_dir = './work_dirs/bmn_rcl_anet_tsn'
val_evaluator = dict(dump_config=dict(out=work_dir + '/results.json'))
test_evaluator = val_evaluator
