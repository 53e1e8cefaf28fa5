"""ATR's router can learn to vary: the task loss reaches tau for
every tau in [0, 1] (straight-through depth weights, straight-through
pruning), the coarse cues are supervised through the backbone's auxiliary
loss contract, and the optional per-video variance incentive."""
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmtal_zoom.models.layers import TransformerBlock1d
from mmtal_zoom.models.layers.continuous_depth import (
    computed_layers, continuous_depth_forward, depth_weights)
from mmtal_zoom.models.losses import balanced_bce_with_logits

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import masked_inputs  # noqa: E402
from tal_batches import actionformer_head, atr_detector  # noqa: E402

K = 4
GRID = torch.linspace(0.0, 1.0, 21)


def blocks(d=8, seed=0):
    torch.manual_seed(seed)
    return torch.nn.ModuleList(
        TransformerBlock1d(d, 2, 5, 1, 2.0, 0.0, 0.0, 0.0, None)
        for _ in range(K))


def tau_grad(tau_values, path, relaxation='straight_through',
             min_weight=0.1):
    """d loss / d tau for one video whose tokens have the given depths."""
    deep = blocks()
    t = tau_values.numel()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 8, t, generator=g)
    probe = torch.randn(1, 8, t, generator=g)
    mask = torch.ones(1, t, dtype=torch.bool)
    tau = tau_values[None].clone().requires_grad_(True)
    w = depth_weights(tau, K, min_weight, relaxation)
    out, _ = continuous_depth_forward(deep, x, mask, w, path,
                                      frontier=path == 'sparse')
    (out * probe).sum().backward()
    return tau.grad[0]


def test_straight_through_keeps_the_hard_forward_values():
    tau = GRID[None].clone().requires_grad_(True)
    hard = depth_weights(tau.detach(), K, 0.1, 'clamp')
    st = depth_weights(tau, K, 0.1, 'straight_through')
    assert torch.equal(st.detach(), hard)
    # 0.26: layer 0 saturated (1.0), layer 1 below min_weight (0.04 -> 0)
    w = depth_weights(torch.tensor([[0.26]]), K, 0.1)
    assert w[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])


def test_computed_layers_are_the_executed_plus_the_frontier():
    w = depth_weights(torch.tensor([[0.0, 0.26, 0.6, 1.0]]), K, 0.1)
    run = computed_layers(w)[:, 0]  # (K, 4 tokens)
    assert run[:, 0].tolist() == [True, False, False, False]
    assert run[:, 1].tolist() == [True, True, False, False]
    assert run[:, 2].tolist() == [True, True, True, True]  # 0.6K = 2.4
    assert run[:, 3].tolist() == [True] * 4


@pytest.mark.parametrize('path', ['dense', 'sparse'])
def test_task_loss_reaches_tau_everywhere_on_a_grid(path):
    grad = tau_grad(GRID, path)
    assert torch.isfinite(grad).all()
    zero = [round(float(t), 2) for t, g in zip(GRID, grad) if g == 0]
    assert not zero, f'no gradient at tau = {zero}'


def test_old_clamp_relaxation_had_dead_bands():
    # the negative control: what issue 14 found in the previous code
    # K = 4, min_weight 0.1: every tau with tau K - floor(tau K) in
    # (0, 0.1) (one layer saturated, the next skipped), and tau = 0
    dead = torch.tensor([0.0, 0.01, 0.26, 0.51, 0.76])
    grad = tau_grad(torch.cat([dead, torch.tensor([0.3, 0.6])]), 'dense',
                    relaxation='clamp')
    assert (grad[:5] == 0).all() and (grad[5:] != 0).all()
    assert (tau_grad(dead, 'dense') != 0).all()


def test_sparse_frontier_gives_the_dense_gradient():
    values = torch.tensor([0.0, 0.03, 0.26, 0.3, 0.5, 0.77, 1.0, 0.12])
    dense = tau_grad(values, 'dense')
    sparse = tau_grad(values, 'sparse')
    assert torch.allclose(dense, sparse, atol=1e-5, rtol=1e-4)


def backbone(**router):
    cfg = dict(type='ATRBackbone', in_channels=8, embed_dims=16,
               num_heads=2, window_size=5, num_shallow=1, num_deep=K,
               drop_path=0.0, min_update=0.1, layer_scale_init=None,
               router=dict(type='ATRDepthRouter', budget_weight=0.0,
                           **router))
    torch.manual_seed(0)
    return MODELS.build(cfg)


def inputs(b=2, t=40, seed=0):
    return masked_inputs(b, t, 28, seed)


def beta_grad(bb, tau0):
    """d task-loss / d beta with every token at depth tau0 (the router's
    last layer is zero at init, so tau = sigmoid(beta) everywhere)."""
    with torch.no_grad():
        bb.router.beta.fill_(math.log(tau0 / (1 - tau0)))
    bb.train().zero_grad()
    x, mask = inputs()
    (out, ), _ = bb(x, mask)
    probe = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    (out * probe).sum().backward()
    return float(bb.router.beta.grad)


@pytest.mark.parametrize('tau0', [0.01, 0.05, 0.1, 0.25, 0.26, 0.4, 0.5,
                                  0.6, 0.75, 0.9, 0.99])
def test_router_gets_task_gradient_at_every_operating_point(tau0):
    # 0.01 and 0.05 are pruned (tau K < 0.25): pruning is straight-through
    bb = backbone(init_tau=0.25, prune_depth=0.25)
    assert beta_grad(bb, tau0) != 0


def test_router_initial_point_is_not_in_a_dead_band():
    # the configs' router (budget 0.25 = init) with the old relaxation got
    # no task gradient just above its start; the new one does
    bb = backbone(budget_target=0.25, prune_depth=0.25)
    assert beta_grad(bb, 0.25) != 0
    bb.relaxation = 'clamp'
    assert beta_grad(bb, 0.26) == 0


def sample(segments, length):
    s = ActionDataSample()
    s.gt_instances = InstanceData(
        segments=torch.tensor(segments, dtype=torch.float32).reshape(-1, 2),
        labels=torch.zeros(len(segments), dtype=torch.long))
    s.set_metainfo(dict(feat_len=length))
    return s


def test_coarse_targets_follow_the_ground_truth():
    bb = backbone(aux_loss_weight=1.0, boundary_radius=2.0)
    mask = torch.ones(2, 40, dtype=torch.bool)
    mask[1, 30:] = False
    tgt, w = bb.router.coarse_targets(
        mask, [sample([[10.0, 20.0]], 40), sample([], 30)])
    assert tgt.shape == w.shape == (2, 3, 40)
    assert tgt[0, 0].nonzero()[:, 0].tolist() == list(range(10, 21))
    assert tgt[0, 1].nonzero()[:, 0].tolist() == list(range(8, 13))
    assert tgt[0, 2].nonzero()[:, 0].tolist() == list(range(18, 23))
    assert (w[0] == 1).all()
    # a video without actions: all negative, padded steps ignored
    assert (tgt[1] == 0).all()
    assert (w[1, :, :30] == 1).all() and (w[1, :, 30:] == 0).all()
    # a start at the crop edge is not a start (BDR's target convention)
    tgt, w = bb.router.coarse_targets(mask[:1], [sample([[0.0, 5.0]], 40)])
    assert (w[0, 1, :4] == 0).all() and (w[0, 2, :4] == 1).all()


def test_balanced_bce_weights_classes_equally():
    # 1 positive of 4 at logit 0: ln 2, as for a balanced set
    logits = torch.zeros(4)
    targets = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert float(balanced_bce_with_logits(logits, targets)) == \
        pytest.approx(math.log(2.0))
    # missing the rare positive costs half the loss, like all negatives
    sure = torch.tensor([-8.0, -8.0, -8.0, -8.0])
    assert float(balanced_bce_with_logits(sure, targets)) == \
        pytest.approx(0.5 * 8.0, rel=1e-2)
    w = torch.tensor([1.0, 1.0, 0.0, 0.0])  # ignored steps
    assert float(balanced_bce_with_logits(
        torch.tensor([9.0, -9.0, 50.0, -50.0]), targets, w)) < 1e-3


def detector(aux_loss_weight):
    torch.manual_seed(0)
    return MODELS.build(atr_detector(
        actionformer_head(num_classes=2),
        router=dict(type='ATRDepthRouter', aux_loss_weight=aux_loss_weight),
        max_seq_len=40))


def test_detector_adds_the_backbones_aux_losses():
    x, mask = inputs(t=40)
    samples = [sample([[10.0, 20.0]], 40), sample([[3.0, 12.0]], 28)]
    off = detector(0.0).train()
    assert not any(k.startswith('loss_router') for k in
                   off(x, samples, mode='loss', masks=mask))
    on = detector(0.5).train()
    losses = on(x, samples, mode='loss', masks=mask)
    assert {'loss_router_action', 'loss_router_boundary'} <= set(losses)
    # untrained coarse convs sit near logit 0: about 0.5 * ln 2 each
    assert 0.2 < losses['loss_router_action'].item() < 0.6
    losses['loss_router_action'].backward()
    assert on.backbone.router.coarse.weight.grad.abs().sum() > 0
    # the shallow stream learns the cue too (no detach)
    assert on.backbone.shallow[0].ln1.weight.grad.abs().sum() > 0
    # consumed once; nothing cached at inference
    assert on.backbone.loss_aux(samples) == {}
    on.eval()
    with torch.no_grad():
        on(x, mode='tensor', masks=mask)
    assert on.backbone.loss_aux(samples) == {}


def test_coarse_supervision_can_be_learned():
    # a few steps on the coarse conv alone lower the aux loss: the targets
    # are reachable from the router's inputs
    bb = backbone(aux_loss_weight=1.0).train()
    x, mask = inputs()
    samples = [sample([[10.0, 20.0]], 40), sample([[3.0, 12.0]], 28)]
    opt = torch.optim.Adam(bb.router.coarse.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        opt.zero_grad()
        bb(x, mask)
        loss = sum(bb.loss_aux(samples).values())
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


def test_variance_incentive_changes_the_budget_loss():
    x, mask = inputs()
    base = backbone(budget_target=0.25, init_tau=0.25)
    base.router.budget_weight = 10.0
    base.train()
    base(x, mask)
    assert float(base.last_stats['loss_budget']) == pytest.approx(0.0,
                                                                  abs=1e-8)
    var = backbone(budget_target=0.25, init_tau=0.25, variance_weight=2.0,
                   variance_target=0.0025)
    var.router.budget_weight = 10.0
    var.train()
    (out, ), _ = var(x, mask)
    # constant tau: every video is short of the target variance
    assert float(var.last_stats['loss_budget']) == pytest.approx(
        2.0 * 0.0025, rel=1e-4)
    assert float(var.last_stats['loss_tau_variance']) == pytest.approx(
        2.0 * 0.0025, rel=1e-4)


def test_variance_incentive_is_per_video():
    r = backbone(variance_weight=1.0, variance_target=0.01).router
    mask = torch.ones(2, 10, dtype=torch.bool)
    # two videos, each constant: the batch varies, each video does not
    tau = torch.cat([torch.full((1, 10), 0.1), torch.full((1, 10), 0.9)])
    assert float(r.budget_terms(tau, mask)['variance']) == \
        pytest.approx(0.01)
    # each video spread enough: no penalty
    tau = torch.tensor([[0.0, 1.0] * 5, [0.2, 0.6] * 5])
    assert float(r.budget_terms(tau, mask)['variance']) == 0.0
    # per-video budget: each video's mean against the target
    r.per_video_budget = True
    r.budget_target = 0.5
    tau = torch.cat([torch.full((1, 10), 0.1), torch.full((1, 10), 0.9)])
    assert float(r.budget_terms(tau, mask)['budget']) == pytest.approx(
        r.budget_weight * 0.16)
    r.per_video_budget = False
    budget = float(r.budget_terms(tau, mask)['budget'])
    assert budget == pytest.approx(0.0, abs=1e-7)


def router(prior_scale, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(type='ATRDepthRouter', embed_dims=8,
                             num_layers=K, budget_target=0.25,
                             prior_scale=prior_scale))


def test_uncertainty_prior_sends_depth_to_likely_boundaries():
    x, mask = inputs()
    mask[1, 30:] = False
    off, on = router(0.0), router(4.0)
    on.load_state_dict(off.state_dict(), strict=False)  # same coarse stage
    assert on.prior_gamma is not None and off.prior_gamma is None
    with torch.no_grad():
        tau_off, _ = off(x, mask)
        tau_on, raw_on, logits = on(x, mask, return_coarse=True)
    # without a prior an untrained router spends the budget everywhere
    assert torch.allclose(tau_off[mask], torch.full_like(tau_off[mask], 0.25),
                          atol=1e-5)
    # with it: depth rises with the coarse boundary probability, per video
    u = torch.sigmoid(logits[:, 1:]).amax(1)
    for b in range(2):
        v = mask[b]
        order = u[b, v].argsort()
        assert (raw_on[b, v][order].diff() >= -1e-6).all()
        assert raw_on[b, v].std() > 0.01
    assert (raw_on[~mask] == 0).all()
    # the prior is centred per video: no video gets more depth on average
    # than its logit offset beta gives (mean of the centred prior is 0)
    prior = on.boundary_prior(logits, mask)
    assert torch.allclose(prior.sum(1), torch.zeros(2), atol=1e-5)
    assert on.prior_scale == pytest.approx(4.0)


def test_uncertainty_prior_learns_its_scale_not_the_coarse_stage():
    r = router(4.0)
    r.train()
    x, mask = inputs()
    tau, _ = r(x, mask)
    tau.sum().backward()
    assert r.prior_gamma.grad is not None and r.prior_gamma.grad != 0
    # the coarse logits reach tau only through the MLP (zero at init): the
    # prior's path is detached, so the coarse conv gets no task gradient
    assert r.coarse.weight.grad is None or \
        r.coarse.weight.grad.abs().sum() == 0
    with pytest.raises(ValueError, match='prior_scale'):
        router(-1.0)


@pytest.mark.parametrize('detach', [False, True])
def test_detach_input_keeps_router_losses_out_of_the_shallow_features(
        detach):
    torch.manual_seed(0)
    r = MODELS.build(dict(type='ATRDepthRouter', embed_dims=8,
                          num_layers=K, budget_target=0.25, prior_scale=4.0,
                          detach_input=detach))
    r.train()
    with torch.no_grad():  # a trained MLP: tau depends on the cues
        r.mlp[-1].weight.normal_()
    x, mask = inputs()
    x.requires_grad_(True)
    tau, tau_raw, logits = r(x, mask, return_coarse=True)
    # the coarse supervision's path and the routing (task) path
    (logits.sum() + (tau * torch.randn_like(tau)).sum()).backward()
    if detach:
        assert x.grad is None
    else:
        assert x.grad is not None and x.grad.abs().sum() > 0
    # the router's own parameters learn either way
    for p in (r.coarse.weight, r.mlp[0].weight, r.beta, r.prior_gamma):
        assert p.grad is not None and p.grad.abs().sum() > 0
    # same forward values
    r2 = MODELS.build(dict(type='ATRDepthRouter', embed_dims=8,
                           num_layers=K, budget_target=0.25,
                           prior_scale=4.0, detach_input=not detach))
    r2.load_state_dict(r.state_dict())
    r2.train()
    assert torch.allclose(r2(x, mask)[0], tau)
