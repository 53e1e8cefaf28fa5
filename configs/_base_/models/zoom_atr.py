# Temporal Zoom Networks (Shihab et al.): the uniform network of
# zoom_uniform.py with (i) Adaptive Temporal Refinement — ATRDepthRouter
# gives each token a continuous depth tau in [0, 1] over the K deep layers,
# tokens whose depth is used up leave the computation, mean tau is held to a
# budget — and (ii) Boundary Distance Regression — a BDRHead on the finest
# level whose zero crossings snap the detector's boundaries (BDRRefinedHead
# wraps the inherited head). See docs/zoom.md for every design choice.
_base_ = ['./zoom_uniform.py']
# Router: the coarse actionness / start / end logits it reads are
# supervised with the heads' targets (aux_loss_weight 0.5, untuned; start /
# end positives within 2 snippets of a boundary); the depth weights pass
# gradient to tau through a straight-through relaxation (no dead bands). The
# per-video variance incentive is off (variance_weight=0.0). The routing
# logit gets the uncertainty prior (prior_scale 4.0 at initialisation, own
# design, untuned): depth follows the coarse boundary probability, centred
# per video. See docs/zoom.md for every option.
model = dict(
    backbone=dict(
        router=dict(_delete_=True, type='ATRDepthRouter', hidden_dims=32,
                    budget_target=0.25, budget_weight=10.0,
                    temperature=1.0, prune_depth=0.25,
                    aux_loss_weight=0.5, boundary_radius=2.0,
                    variance_weight=0.0, prior_scale=4.0),
        min_update=0.1, relaxation='straight_through',
        train_path='sparse', test_path='sparse'),
    head=dict(
        _delete_=True,
        type='BDRRefinedHead',
        base_head={{_base_.model.head}},
        bdr=dict(type='BDRHead', in_channels=512, feat_channels=512,
                 num_convs=2, level=0, truncation=16.0, min_slope=0.5,
                 loss=dict(type='SignedDistanceLoss', beta=1.0,
                           boundary_sigma=2.0, boundary_weight=4.0),
                 loss_weight=0.1,
                 # the BDR loss trains the BDR branch only, not the features
                 # the detector shares (own design; chosen on the family's
                 # val splits: docs/robustness.md, "The BDR branch on
                 # stop-gradient features")
                 detach_feats=True),
        snap_window=2.0))
# Constant budget (the router starts at it: init_tau defaults to the target),
# router temperature 1.0 -> 0.5 over training (tau sharpens towards 0 / 1,
# which is what makes sparse execution cheap).
atr_budget_hook = dict(type='ATRBudgetAnnealHook', budget=None,
                       temperature=(1.0, 0.5), begin=0, end=None,
                       by_epoch=True, schedule='linear')
