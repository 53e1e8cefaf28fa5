"""Temporal Zoom configs build through the registry and run a forward pass on
random features of their input shape; uniform and ATR are the same network
up to the router; the retrofit configs wrap the inherited heads."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmaction.registry import HOOKS, MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
UNIFORM = 'zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py'
ATR_BDR = 'zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py'
ATR = 'zoom/temporal-zoom-atr-nobdr_synthetic-feat_1xb2-30e_embedded.py'
BASELINE_BDR = 'zoom/actionformer-bdr_synthetic-feat_1xb2-30e_embedded.py'
CLTDR_BDR = 'zoom/cltdr-gmg-bdr_synthetic-feat_1xb2-30e_embedded.py'
ATR_BDR_THUMOS = 'zoom/temporal-zoom-atr_i3d-feat_1xb2-35e_thumos14.py'
UNIFORM_BDR = ('zoom/temporal-zoom-uniform-bdr_synthetic-feat_1xb2-30e_'
               'embedded.py')
UNIFORM_D1_BDR = ('zoom/temporal-zoom-uniform-d1-bdr_synthetic-feat_1xb2-30e_'
                  'embedded.py')
UNIFORM_D1 = ('zoom/temporal-zoom-uniform-d1_synthetic-feat_1xb2-30e_'
              'embedded.py')
BASELINE = 'baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py'
CLTDR = 'cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py'


def build(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.custom_imports['imports'] == ['mmtal_zoom']
    torch.manual_seed(0)
    return cfg, MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('name,in_channels,seq_len,head,num_outs', [
    (UNIFORM, 256, 768, 'ActionFormerHead', 2),
    (ATR_BDR, 256, 768, 'BDRRefinedHead', 3),
    (ATR, 256, 768, 'ActionFormerHead', 2),
    (BASELINE_BDR, 256, 768, 'BDRRefinedHead', 3),
    (CLTDR_BDR, 256, 768, 'BDRRefinedHead', 7),
    (ATR_BDR_THUMOS, 2048, 2304, 'BDRRefinedHead', 3),
    (UNIFORM_BDR, 256, 768, 'BDRRefinedHead', 3),
    (UNIFORM_D1_BDR, 256, 768, 'BDRRefinedHead', 3),
    (UNIFORM_D1, 256, 768, 'ActionFormerHead', 2),
])
def test_zoom_config_builds_and_runs_forward(name, in_channels, seq_len,
                                             head, num_outs):
    cfg, model = build(name)
    assert type(model.head).__name__ == head
    for hook in cfg.get('custom_hooks', []):
        HOOKS.build(dict(hook))
    x = torch.randn(1, in_channels, seq_len)
    with torch.no_grad():
        outs = model(x, mode='tensor')
    assert len(outs) == num_outs
    assert outs[0][0].shape == (1, model.head.num_classes, seq_len)
    if head == 'BDRRefinedHead':
        assert outs[-1][0].shape == (1, 2, seq_len)  # the BDR field


def test_uniform_and_atr_are_the_same_network_up_to_the_router():
    _, uni = build(UNIFORM)
    _, atr = build(ATR)
    assert uni.backbone.router is None and atr.backbone.router is not None
    u_keys, a_keys = set(uni.state_dict()), set(atr.state_dict())
    assert u_keys <= a_keys
    assert all(k.startswith('backbone.router.') for k in a_keys - u_keys)
    cfg = Config.fromfile(str(CONFIGS / ATR_BDR))
    assert cfg.model.backbone.router.budget_target < 1.0
    assert any(h['type'] == 'ATRBudgetAnnealHook' for h in cfg.custom_hooks)


def test_retrofit_configs_wrap_the_inherited_heads():
    base = Config.fromfile(str(CONFIGS / BASELINE))
    bdr = Config.fromfile(str(CONFIGS / BASELINE_BDR))
    assert bdr.model.head.base_head == base.model.head
    assert bdr.model.backbone == base.model.backbone
    cl = Config.fromfile(str(CONFIGS / CLTDR))
    clb = Config.fromfile(str(CONFIGS / CLTDR_BDR))
    assert clb.model.head.base_head == cl.model.head


def test_thumos_zoom_config_keeps_actionformers_recipe():
    cfg = Config.fromfile(str(CONFIGS / ATR_BDR_THUMOS))
    bb = cfg.model.backbone
    assert (bb.in_channels, bb.embed_dims, bb.window_size) == (2048, 512, 19)
    assert cfg.model.data_preprocessor.max_seq_len == 2304
    assert cfg.model.neck.num_levels == 6
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.train_cfg.max_epochs == 35
    assert cfg.model.head.base_head.test_cfg.nms.sigma == 0.5


def _training_recipe(cfg):
    """What must be equal between compared configs: schedule, optimiser,
    EMA, data (everything but the model and the ATR hooks)."""
    ema = [dict(h) for h in cfg.get('custom_hooks', [])
           if h['type'] == 'EMAHook']
    opt = dict(cfg.optim_wrapper)
    opt.pop('paramwise_cfg', None)  # the router's lr_mult (ATR only)
    return dict(ema=ema, optim=opt, train_cfg=dict(cfg.train_cfg),
                param_scheduler=[dict(s) for s in cfg.param_scheduler],
                train_pipeline=[dict(t) for t in
                                cfg.train_dataloader.dataset.pipeline])


@pytest.mark.parametrize('name', [
    ATR_BDR, ATR,
    BASELINE_BDR, CLTDR_BDR,
    BASELINE, CLTDR])
def test_embedded_configs_share_the_uniform_training_recipe(name):
    # Regression: the ATR configs overrode custom_hooks with an EMA momentum
    # 10x slower than the uniform model's, so that after a short schedule
    # their evaluated weights stayed near initialisation.
    ref = _training_recipe(
        Config.fromfile(str(CONFIGS / UNIFORM)))
    got = _training_recipe(Config.fromfile(str(CONFIGS / name)))
    assert got == ref


def _params(model, skip=()):
    return sum(p.numel() for n, p in model.named_parameters()
               if not n.startswith(skip))


def _flops(model, t=512):
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.randn(1, 256, t)
    with torch.no_grad(), FlopCounterMode(display=False) as c:
        model(x, mode='tensor')
    return c.get_total_flops()


@pytest.mark.parametrize('atr,params_ctrl,flops_ctrl', [
    (ATR_BDR, UNIFORM_BDR,
     UNIFORM_D1_BDR),
    (ATR, UNIFORM,
     UNIFORM_D1),
])
def test_matched_uniform_controls(atr, params_ctrl, flops_ctrl):
    """Equal parameters (all but the router) and equal inference FLOPs at
    ATR's expected depth (budget 0.25 x 4 layers = 1 layer per token, which
    an untrained router without its uncertainty prior spends exactly; with
    the prior the depth varies per token around that operating point)."""
    _, a = build(atr)
    assert a.backbone.router.prior_gamma is not None
    a.backbone.router.prior_gamma = None  # the operating point alone
    _, p = build(params_ctrl)
    _, f = build(flops_ctrl)
    assert p.backbone.router is None and f.backbone.router is None
    assert _params(p) == _params(a, skip=('backbone.router.', ))
    assert type(p.head) is type(a.head) is type(f.head)
    if hasattr(a.head, 'bdr'):  # the same BDR branch, detached or not
        assert (p.head.bdr.detach_feats == a.head.bdr.detach_feats ==
                f.head.bdr.detach_feats)
    budget = a.backbone.router.budget_target
    assert len(f.backbone.deep) == round(budget * len(a.backbone.deep))
    fa, ff, fp = _flops(a), _flops(f), _flops(p)
    assert abs(fa / ff - 1) < 0.02, (fa, ff)  # the router's share
    assert ff < 0.75 * fp


@pytest.mark.parametrize('name', [ATR_BDR,
                                  ATR,
                                  ATR_BDR_THUMOS])
def test_atr_configs_supervise_the_router(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    router = cfg.model.backbone.router
    assert router.aux_loss_weight > 0
    assert router.variance_weight == 0.0  # the incentive is opt-in
    assert cfg.model.backbone.relaxation == 'straight_through'


@pytest.mark.parametrize('name', [ATR_BDR, ATR_BDR_THUMOS])
def test_zoom_models_bdr_loss_trains_only_its_branch(name):
    """The Zoom model's BDR loss reaches the BDR branch's convs, not the
    shared features the detection head reads (chosen on the family's val
    splits, docs/robustness.md)."""
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.model.head.bdr.detach_feats is True
    head = MODELS.build(cfg.model.head)
    channels = cfg.model.head.bdr.in_channels
    feats = [torch.randn(1, channels, 64, requires_grad=True)]
    masks = [torch.ones(1, 64, dtype=torch.bool)]
    head.bdr(feats, masks)[0].sum().backward()
    assert feats[0].grad is None
    assert head.bdr.tower.out_conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('name', [UNIFORM_BDR,
                                  UNIFORM_D1_BDR,
                                  UNIFORM_D1])
def test_matched_controls_share_the_training_recipe(name):
    ref = _training_recipe(
        Config.fromfile(str(CONFIGS / UNIFORM)))
    cfg = Config.fromfile(str(CONFIGS / name))
    assert _training_recipe(cfg) == ref
    assert not cfg.get('custom_hooks')
