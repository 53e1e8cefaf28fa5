"""ATR: tau's range and gradient, continuous-depth weights, real skipping at
inference (sparse path == dense training path, fewer executed tokens and
FLOPs as tau falls), pruning, the budget term, the uniform special case."""
import os.path as osp
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmaction.registry import MODELS
from mmtal_zoom.models.layers.continuous_depth import (attach_aux_loss,
                                                       compact_indices,
                                                       depth_weights,
                                                       gather_tokens,
                                                       scatter_tokens)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import masked_inputs  # noqa: E402


def backbone(router=dict(type='ATRDepthRouter'), **kw):
    cfg = dict(type='ATRBackbone', in_channels=8, embed_dims=16,
               num_heads=2, window_size=5, num_shallow=1, num_deep=4,
               drop_path=0.0, router=router)
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def spread_router(bb, std=2.0, seed=0):
    """Make an (untrained) router's tau vary from token to token."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = bb.router.mlp[-1].weight
        w.copy_(torch.randn(w.shape, generator=g) * std)


def inputs(b=2, t=48, seed=0):
    return masked_inputs(b, t, 30, seed)


def test_depth_weights_formula():
    tau = torch.tensor([[0.0, 0.3, 0.5, 1.0, 0.26]])
    w = depth_weights(tau, 4)
    assert w.shape == (4, 1, 5)
    assert torch.allclose(w[:, 0, 1], torch.tensor([1.0, 0.2, 0.0, 0.0]))
    assert torch.allclose(w[:, 0, 2], torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert torch.allclose(w[:, 0, 3], torch.ones(4))
    assert (w[:, 0, 0] == 0).all()
    # updates below min_weight are skipped
    w = depth_weights(tau, 4, min_weight=0.05)
    assert w[1, 0, 4] == 0 and w[0, 0, 4] == 1


def test_gather_scatter_round_trip_with_padding():
    active = torch.tensor([[1, 0, 1, 1, 0], [0, 0, 0, 1, 0]], dtype=bool)
    idx, valid = compact_indices(active)
    assert idx.tolist() == [[0, 2, 3], [3, 5, 5]]
    assert valid.tolist() == [[True, True, True], [True, False, False]]
    x = torch.arange(10.0).view(2, 1, 5)
    g = gather_tokens(x, idx)
    assert g.tolist() == [[[0.0, 2.0, 3.0]], [[8.0, 0.0, 0.0]]]
    out = scatter_tokens(x, idx, -g)
    assert out.tolist() == [[[-0.0, 1.0, -2.0, -3.0, 4.0]],
                            [[5.0, 6.0, 7.0, -8.0, 9.0]]]


def test_tau_range_padding_and_gradient():
    bb = backbone()
    spread_router(bb)
    x, mask = inputs()
    (out, ), _ = bb(x, mask)
    tau = bb.last_tau
    assert tau.shape == mask.shape
    assert (tau >= 0).all() and (tau <= 1).all() and (tau[~mask] == 0).all()
    assert 0 < tau[mask].std()
    # cooling the temperature sharpens tau around the same operating point
    with torch.no_grad():
        z = bb.router.mlp(bb.router.cues(bb.shallow[0](
            *bb.projection(x, mask)[0][0:1], mask)[0], mask))[:, 0]
    assert torch.allclose(
        tau[mask], torch.sigmoid(z / bb.router.temperature +
                                 bb.router.beta)[mask], atol=1e-5)
    # tau is differentiable: the task loss reaches the router's MLP through
    # the depth weights clamp(tau K - k, 0, 1)
    out.square().mean().backward()
    grad = bb.router.mlp[-1].weight.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    assert bb.router.coarse.weight.grad.abs().sum() > 0


def test_untrained_router_spends_the_budget():
    bb = backbone(router=dict(type='ATRDepthRouter', budget_target=0.25))
    x, mask = inputs()
    bb(x, mask)
    assert bb.last_tau[mask].tolist() == pytest.approx(
        [0.25] * int(mask.sum()), abs=1e-5)


@pytest.mark.parametrize('seed', [0, 1])
def test_sparse_inference_equals_dense_training_path(seed):
    bb = backbone().eval()
    spread_router(bb, seed=seed)
    x, mask = inputs(seed=seed)
    with torch.no_grad():
        bb.test_path = 'dense'
        (dense, ), _ = bb(x, mask)
        tau_dense = bb.last_tau
        bb.test_path = 'sparse'
        (sparse, ), _ = bb(x, mask)
    assert torch.equal(bb.last_tau, tau_dense)
    # every token, in particular the full-depth ones, as in training
    assert torch.allclose(sparse, dense, atol=1e-5)
    full = tau_dense >= 1 - 1e-6
    if full.any():
        assert torch.allclose(sparse.transpose(1, 2)[full],
                              dense.transpose(1, 2)[full], atol=1e-5)


def test_sparse_training_path_gives_the_same_gradients():
    bb = backbone().train()
    spread_router(bb)
    x, mask = inputs()
    grads = {}
    for path in ('dense', 'sparse'):
        bb.zero_grad()
        bb.train_path = path
        (out, ), _ = bb(x, mask)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        # a layer no token reaches gets no gradient on the sparse path and
        # an all-zero one on the dense path
        grads[path] = {n: p.grad.clone() if p.grad is not None else
                       torch.zeros_like(p) for n, p in bb.named_parameters()}
    assert any(g.abs().sum() > 0 for n, g in grads['sparse'].items()
               if n.startswith('deep.1'))
    for name, g in grads['dense'].items():
        assert torch.allclose(g, grads['sparse'][name], atol=1e-4,
                              rtol=1e-3), name


def executed(budget):
    bb = backbone(router=dict(type='ATRDepthRouter', budget_target=budget,
                              prune_depth=0.0)).eval()
    spread_router(bb, std=0.5)
    x, mask = inputs(t=96)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        bb(x, mask)
    return (float(bb.last_stats['active_fraction']),
            counter.get_total_flops(), float(bb.last_stats['mean_tau']))


def test_active_tokens_and_flops_fall_with_tau():
    rows = [executed(b) for b in (0.9, 0.6, 0.35, 0.1)]
    active = [r[0] for r in rows]
    flops = [r[1] for r in rows]
    taus = [r[2] for r in rows]
    assert taus == sorted(taus, reverse=True)
    assert active == sorted(active, reverse=True) and active[-1] < 0.5
    assert flops == sorted(flops, reverse=True)
    assert flops[-1] < 0.6 * flops[0]


def test_uniform_depth_is_the_router_free_network():
    uni = backbone(router=None).eval()
    atr = backbone(router=dict(type='ATRDepthRouter', init_tau=0.9999,
                               budget_target=1.0)).eval()
    missing, unexpected = atr.load_state_dict(uni.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('router.') for k in missing)
    x, mask = inputs()
    with torch.no_grad():
        (a, ), _ = atr(x, mask)
        (u, ), _ = uni(x, mask)
    assert torch.allclose(atr.last_tau[mask], torch.ones(int(mask.sum())),
                          atol=1e-3)
    # every token at full depth (weights >= 0.9996 per layer)
    assert torch.allclose(a, u, atol=5e-3)
    assert float(atr.last_stats['active_fraction']) == pytest.approx(1.0)


def test_constant_depth_trains_like_the_shallower_uniform_network():
    """tau = 0.5 on every token with K = 4 deep layers is uniform depth 2,
    in training too: same output and the same gradient for every shared
    parameter (the frontier layer, run for the straight-through gradient,
    changes neither)."""
    uni = backbone(router=None, num_deep=2).train()
    atr = backbone(router=dict(type='ATRDepthRouter', budget_target=0.5,
                               prior_scale=0.0, aux_loss_weight=0.0,
                               detach_input=True)).train()
    missing, unexpected = atr.load_state_dict(uni.state_dict(), strict=False)
    assert not unexpected
    assert all(k.startswith(('router.', 'deep.2.', 'deep.3.'))
               for k in missing)
    x, mask = inputs()
    outs, grads = {}, {}
    for name, bb in (('uniform', uni), ('atr', atr)):
        (out, ), _ = bb(x, mask)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        outs[name] = out.detach()
        grads[name] = {n: p.grad for n, p in bb.named_parameters()
                       if p.grad is not None}
    assert torch.equal(atr.last_tau[mask],
                       torch.full((int(mask.sum()), ), 0.5))
    assert float(atr.last_stats['active_fraction']) == pytest.approx(0.5)
    assert torch.allclose(outs['atr'], outs['uniform'], atol=1e-5)
    assert set(grads['uniform']) <= set(grads['atr'])
    for n, g in grads['uniform'].items():
        assert torch.allclose(grads['atr'][n], g, atol=1e-5, rtol=1e-3), n
    # the frontier layer ran (it has a gradient) but with weight 0
    assert all(float(grads['atr'][n].abs().max()) == 0.0
               for n in grads['atr'] if n.startswith('deep.2.'))
    assert any(n.startswith('deep.2.') for n in grads['atr'])


def test_pruning_removes_low_depth_tokens():
    bb = backbone(router=dict(type='ATRDepthRouter', prune_depth=1.0))
    spread_router(bb, std=3.0)
    x, mask = inputs()
    tau, tau_raw = bb.router(bb.projection(x, mask)[0][0], mask)
    low = (tau_raw * 4 < 1.0) & mask
    assert low.any() and (tau[low] == 0).all()
    assert torch.equal(tau[~low], tau_raw[~low])


def test_budget_term_enters_the_objective():
    bb = backbone(router=dict(type='ATRDepthRouter', budget_target=0.1,
                              budget_weight=5.0, init_tau=0.5)).train()
    x, mask = inputs()
    (out, ), _ = bb(x, mask)
    lb = bb.last_stats['loss_budget']
    assert lb.item() == pytest.approx(5.0 * (0.5 - 0.1)**2, rel=1e-3)
    # a task loss that does not depend on tau's value: the router's
    # operating point gets exactly the budget gradient
    # d/d beta [w (mean sigmoid(beta) - target)^2]
    (out * 0.0).sum().backward()
    grad = bb.router.beta.grad
    expect = 5.0 * 2 * (0.5 - 0.1) * 0.5 * 0.5
    assert grad.item() == pytest.approx(expect, rel=1e-3)
    # and at eval no budget is attached
    bb.eval()
    bb(x, mask)
    assert 'loss_budget' not in bb.last_stats


def test_attach_aux_loss_is_identity_forward():
    x = torch.randn(3, requires_grad=True)
    a = torch.tensor(2.0, requires_grad=True)
    y = attach_aux_loss(x, a * 3)
    assert torch.equal(y, x)
    y.sum().backward()
    assert a.grad.item() == pytest.approx(3.0)
    assert torch.equal(x.grad, torch.ones(3))


def test_annealed_state_travels_with_the_checkpoint():
    bb = backbone().eval()
    spread_router(bb)
    bb.router.temperature = 0.4
    bb.router.budget_target = 0.15
    x, mask = inputs()
    with torch.no_grad():
        (ref, ), _ = bb(x, mask)
    fresh = backbone().eval()
    assert fresh.router.temperature == 1.0
    fresh.load_state_dict(bb.state_dict())
    assert fresh.router.temperature == pytest.approx(0.4)
    assert fresh.router.budget_target == pytest.approx(0.15)
    with torch.no_grad():
        (out, ), _ = fresh(x, mask)
    assert torch.equal(out, ref) and torch.equal(fresh.last_tau, bb.last_tau)
    with pytest.raises(ValueError):
        fresh.router.temperature = 0.0


def test_routing_noise_only_in_training():
    bb = backbone(router=dict(type='ATRDepthRouter', noise_std=1.0))
    x, mask = inputs()
    feats = bb.projection(x, mask)[0][0]
    bb.train()
    a, _ = bb.router(feats, mask)
    b, _ = bb.router(feats, mask)
    assert not torch.equal(a, b) and a[mask].std() > 0.05
    bb.eval()
    a, _ = bb.router(feats, mask)
    b, _ = bb.router(feats, mask)
    assert torch.equal(a, b)
    assert torch.allclose(a[mask], torch.full_like(a[mask], 0.3), atol=1e-5)
