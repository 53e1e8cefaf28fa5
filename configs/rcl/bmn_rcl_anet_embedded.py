# BMN + RCL on the embedded ActivityNet-format set: BMN's boundary-matching
# map replaced by RCL (continuous anchoring representation, scale-invariant
# sampler, recurrent refine module); everything else as
# configs/rcl/bmn_anet_embedded.py.
_base_ = [
    '../_base_/models/bmn_rcl_400x100.py',
    '../_base_/datasets/anet_bmn_embedded.py',
    '../_base_/schedules/bmn_adam_cpu.py', '../_base_/default_runtime.py'
]
# CPU-sized: BMN's base module and temporal evaluation module at the widths
# of configs/rcl/bmn_anet_embedded.py (a quarter of stock), a slimmer RCL
# head, and at inference the RRM refines the 1000 best of the 5050 grid
# queries (the TSN config: stock widths, all queries, as the paper).
model = dict(
    hidden_dim_1d=64, hidden_dim_2d=32, hidden_dim_3d=128,
    rcl_head=dict(feat_channels=32, embed_channels=128,
                  refine=dict(hidden_channels=64),
                  test_cfg=dict(refine_topk=1000)))
work_dir = './work_dirs/bmn_rcl_anet_embedded'
val_evaluator = dict(dump_config=dict(out=work_dir + '/results.json'))
test_evaluator = val_evaluator
