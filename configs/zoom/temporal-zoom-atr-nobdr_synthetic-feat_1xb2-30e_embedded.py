# Ablation: ATR without BDR (ActionFormer's head, no boundary snapping) on the
# embedded benchmark — isolates ATR against
# temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py.
_base_ = ['./temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py']
model = dict(
    backbone=dict(
        router=dict(_delete_=True, type='ATRDepthRouter', hidden_dims=32,
                    budget_target=0.25, budget_weight=10.0,
                    temperature=1.0, prune_depth=0.25,
                    aux_loss_weight=0.5, boundary_radius=2.0,
                    variance_weight=0.0, prior_scale=4.0),
        min_update=0.1, relaxation='straight_through'))
# No EMA, like the CPU schedule (adamw_cosine_cpu.py) and the uniform model:
# the comparison stays fair.
custom_hooks = [
    dict(type='ATRBudgetAnnealHook', budget=None, temperature=(1.0, 0.5),
         by_epoch=True),
]
# The router is small and its gradient (through the depth weights) weak:
# a 10x learning rate lets it learn token-dependent depths in a short
# schedule.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.router': dict(lr_mult=10.0)}))
