"""CLTDRHead (DCM / DRM + Trident / RefineHead, loss Eq. 13) and the
CLTDR-GMG detector built from registered parts."""
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS
from mmtal_zoom.models.layers import trident_distances

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from cltdr_parts import (LEVELS, RANGES, STRIDES, D, K,  # noqa: E402
                         detector_cfg, head_cfg, make_sample, pyramid, samples)


@pytest.mark.parametrize('per_class', [False, True])
def test_forward_shapes_per_level(per_class):
    head = MODELS.build(head_cfg(boundary_per_class=per_class))
    feats, masks = pyramid()
    cls, rcls, off, start, end, roff = head(feats, masks)
    kb = K if per_class else 1
    for lvl in range(LEVELS):
        t = feats[lvl].shape[-1]
        assert cls[lvl].shape == rcls[lvl].shape == (2, K, t)
        assert off[lvl].shape == (2, 2 * (4 + 1), t)
        assert start[lvl].shape == end[lvl].shape == (2, kb, t)
        assert roff[lvl].shape == (2, 2 * kb, t)
    scores, segs = head.decode_by_feat(cls, rcls, off, start, end, roff,
                                       masks=masks)
    assert scores[1].shape == (2, 20, K)
    assert segs[1].shape == ((2, 20, K, 2) if per_class else (2, 20, 2))
    assert ((scores[0] > 0) & (scores[0] < 1)).all()


def test_trident_distances_match_a_loop_and_follow_evidence():
    torch.manual_seed(0)
    nb, t = 3, 7
    off = torch.randn(1, 2 * (nb + 1), t)
    start, end = torch.randn(1, 2, t), torch.randn(1, 2, t)
    out = trident_distances(off, start, end, nb)
    assert out.shape == (1, t, 2, 2)
    for c in range(2):
        for i in range(t):
            sl = torch.stack([start[0, c, i - d] if i - d >= 0 else
                              torch.tensor(0.) for d in range(nb + 1)])
            el = torch.stack([end[0, c, i + d] if i + d < t else
                              torch.tensor(0.) for d in range(nb + 1)])
            pl = (sl + off[0, :nb + 1, i]).softmax(0)
            pr = (el + off[0, nb + 1:, i]).softmax(0)
            bins = torch.arange(nb + 1.)
            assert torch.allclose(out[0, i, c, 0], (pl * bins).sum(),
                                  atol=1e-6)
            assert torch.allclose(out[0, i, c, 1], (pr * bins).sum(),
                                  atol=1e-6)
    # strong start evidence two steps to the left -> left distance 2
    start = torch.zeros(1, 1, t)
    start[0, 0, 2] = 50.0
    out = trident_distances(torch.zeros(1, 2 * (nb + 1), t), start,
                            torch.zeros(1, 1, t), nb)
    assert out[0, 4, 0, 0].item() == pytest.approx(2.0, abs=1e-4)


def test_refined_score_eq10_and_official_product():
    a, r = torch.randn(5, K) * 3, torch.randn(5, K) * 3
    paper = MODELS.build(head_cfg())
    logit = paper._refined_logits(a, r)
    expected = torch.sqrt(a.sigmoid() * r.sigmoid())
    torch.testing.assert_close(logit.sigmoid(), expected, atol=1e-5, rtol=0)
    official = MODELS.build(head_cfg(refine_score='logit_product'))
    torch.testing.assert_close(official._refined_logits(a, r), a * r)
    assert torch.equal(paper._refined_logits(a, None), a)


@pytest.mark.parametrize('kw', [dict(), dict(boundary_per_class=True,
                                             edge_levels='available')])
def test_padding_never_changes_valid_predictions(kw):
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg(head=head_cfg(**kw))).eval()
    short, long = torch.randn(1, 8, 23), torch.randn(1, 8, 50)
    batch = torch.zeros(2, 8, 50)
    batch[0, :, :23], batch[1] = short[0], long[0]
    mask = torch.arange(50)[None] < torch.tensor([23, 50])[:, None]
    with torch.no_grad():
        outs_a = model(short, mode='tensor')
        outs_b = model(batch, mode='tensor', masks=mask)
        _, masks_a = model.extract_feat(short, torch.ones(1, 23).bool())
        _, masks_b = model.extract_feat(batch, mask)
        sa, ga = model.head.decode_by_feat(*outs_a, masks=masks_a)
        sb, gb = model.head.decode_by_feat(*outs_b, masks=masks_b)
    for lvl in range(LEVELS):
        n = sa[lvl].shape[1]
        torch.testing.assert_close(sb[lvl][0, :n], sa[lvl][0], atol=1e-5,
                                   rtol=0)
        torch.testing.assert_close(gb[lvl][0, :n], ga[lvl][0], atol=1e-4,
                                   rtol=0)


def test_edge_levels_plain_vs_available():
    """'plain': the bottom level ignores level 1 (no CLTDR at the edges);
    'available': its DCM fuses level 1."""
    feats, masks = pyramid(batch=1)
    changed = list(feats)
    changed[1] = feats[1] + 1.0
    for mode, differs in (('plain', False), ('available', True)):
        torch.manual_seed(0)
        head = MODELS.build(head_cfg(edge_levels=mode)).eval()
        with torch.no_grad():
            a = head(feats, masks)[0][0]
            b = head(tuple(changed), masks)[0][0]
            mid_a = head(feats, masks)[0][2]
            mid_b = head(tuple(changed), masks)[0][2]
        assert ((a - b).abs().max() > 1e-5) == differs, mode
        # classification of level 2 reads levels 2 and 3 only (DCM)
        assert (mid_a - mid_b).abs().max() == 0


class _Capture(torch.nn.Module):
    """Records the inputs of the classification loss."""

    def __init__(self, loss):
        super().__init__()
        self.loss, self.calls = loss, []

    def forward(self, pred, target, weight=None, avg_factor=None):
        self.calls.append((pred.detach(), target.detach(),
                           None if weight is None else weight.detach(),
                           avg_factor))
        return self.loss(pred, target, weight=weight, avg_factor=avg_factor)


def test_loss_eq13_targets_weights_and_normalisation():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(iou_weight_power=0.5))
    head.loss_cls = _Capture(head.loss_cls)
    feats, masks = pyramid()
    losses = head.loss(feats, masks, samples())
    assert set(losses) == {'loss_cls', 'loss_reg'}
    assert all(torch.isfinite(v) for v in losses.values())
    (pred_pos, q_pos, w_pos, n_pos), (pred_neg, q_neg, w_neg, n_neg) = \
        head.loss_cls.calls
    # IoU-aware targets in (0, 1) on the gt class, weights sigma_IoU^0.5
    is_gt = q_pos > 0
    assert is_gt.any() and (q_pos[is_gt] < 1).any() and (q_pos <= 1).all()
    torch.testing.assert_close(w_pos[is_gt], q_pos[is_gt].sqrt())
    assert (w_pos[~is_gt] == 1).all()
    assert (q_neg == 0).all() and w_neg is None
    assert n_pos == pred_pos.shape[0] and n_neg == pred_neg.shape[0]
    assert n_pos + n_neg == sum(int(m.sum()) for m in masks)

    binary = MODELS.build(head_cfg(cls_target='binary',
                                   loss_normalization='ema'))
    binary.loss_cls = _Capture(binary.loss_cls)
    binary.loss(feats, masks, samples())
    (_, q, _, norm), = binary.loss_cls.calls
    assert set(q.unique().tolist()) == {0.0, 1.0}
    assert norm == pytest.approx(binary.loss_normalizer)


def test_default_loss_weights_positives_by_q_squared():
    """Eq. 13 by default: sigma_IoU (= q, the IoU target) times VFNet's
    varifocal loss, which weights a positive by q itself: q^2 BCE; the
    earlier reading (iou_weighted=False) gives q BCE."""
    import torch.nn.functional as F
    feats, masks = pyramid()
    element = {}
    for iou_weighted in (True, False):
        torch.manual_seed(0)
        vfl = dict(type='VarifocalLoss', iou_weighted=iou_weighted)
        head = MODELS.build(head_cfg(loss_cls=vfl) if not iou_weighted else
                            head_cfg())  # the default: iou_weighted=True
        assert head.loss_cls.iou_weighted == iou_weighted
        head.loss_cls = _Capture(head.loss_cls)
        head.loss(feats, masks, samples())
        pred, q, w, _ = head.loss_cls.calls[0]
        gt = q > 0
        torch.testing.assert_close(w[gt], q[gt])  # sigma_IoU = q
        loss = MODELS.build(dict(vfl, reduction='none'))(pred, q, weight=w)
        bce = F.binary_cross_entropy_with_logits(pred, q, reduction='none')
        element[iou_weighted] = (loss[gt], q[gt], bce[gt])
    loss, q, bce = element[True]
    torch.testing.assert_close(loss, q.square() * bce)
    loss_flat, q_flat, bce_flat = element[False]
    torch.testing.assert_close(loss_flat, q_flat * bce_flat)
    assert (loss - loss_flat).abs().max() > 1e-4


def test_official_loss_terms_and_empty_ground_truth():
    head = MODELS.build(head_cfg(refined_loss_weight=0.7,
                                 pre_refine_loss_weight=0.3,
                                 boundary_per_class=True))
    feats, masks = pyramid()
    losses = head.loss(feats, masks, samples())
    assert set(losses) == {'loss_cls', 'loss_reg', 'loss_cls_pre',
                           'loss_reg_pre'}
    empty = [make_sample(40, [], [], 'e'), make_sample(40, [], [], 'f')]
    losses = MODELS.build(head_cfg()).loss(feats, masks, empty)
    assert losses['loss_reg'].item() == 0.0
    assert torch.isfinite(losses['loss_cls'])


@pytest.mark.parametrize('kw', [
    dict(),
    dict(boundary_per_class=True, boundary_feat='pyramid',
         refine_score='logit_product', pre_refine_loss_weight=0.3,
         refined_loss_weight=0.7, loss_normalization='ema'),
])
def test_gradients_reach_every_parameter(kw):
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg(head=head_cfg(**kw)))
    losses = model(torch.randn(2, 8, 40), samples(), mode='loss')
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


@pytest.mark.parametrize('kw', [
    dict(fusion='add'), dict(fusion='concat'), dict(use_dcm=False),
    dict(use_drm=False), dict(refine_cls=False), dict(refine_reg=False),
    dict(refine_cls=False, refine_reg=False)])
def test_head_toggles_build_and_train(kw):
    head = MODELS.build(head_cfg(**kw))
    feats, masks = pyramid()
    losses = head.loss(feats, masks, samples())
    sum(losses.values()).backward()
    if not kw.get('refine_cls', True):
        assert not hasattr(head, 'refine_cls_tower')
    if kw.get('fusion') == 'add':
        assert not hasattr(head.dcm, 'fc')


def test_invalid_options_are_rejected():
    for kw in (dict(refine_score='mean'), dict(edge_levels='none'),
               dict(cls_target='soft'), dict(loss_normalization='sum'),
               dict(fusion='max'), dict(num_bins=0),
               dict(cls_layers=[1]), dict(reg_layers=[0, -2]),
               dict(cls_layers=[0, 0]),
               dict(fusion='concat', cls_layers=[1, 0, -1])):
        with pytest.raises(ValueError):
            MODELS.build(head_cfg(**kw))
    head = MODELS.build(head_cfg())
    feats, masks = pyramid()
    with pytest.raises(ValueError, match='levels'):
        head(feats[:3], masks[:3])


def _toy_batch(seed=0, t=64, channels=8):
    """Separable actions: class prototypes added over the action spans."""
    g = torch.Generator().manual_seed(seed)
    proto = torch.randn(K, channels, generator=g) * 2
    x = torch.randn(2, channels, t, generator=g) * 0.5
    data = []
    for i in range(2):
        segs, labels = [], []
        for j, (s, e) in enumerate([(5 + 3 * i, 14 + 3 * i), (25, 33),
                                    (40, 60)]):
            k = (i + j) % K
            x[i, :, s:e] += proto[k][:, None]
            segs.append([s, e - 1])
            labels.append(k)
        data.append(make_sample(t, segs, labels, f't{i}'))
    return x, data


def test_short_training_run_decreases_the_loss():
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg())
    x, data = _toy_batch()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    history = []
    for _ in range(40):
        losses = model(x, data, mode='loss')
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(total.item())
    assert sum(history[-3:]) / 3 < 0.5 * sum(history[:3]) / 3


def _has_nms():
    try:
        from mmtal_zoom.structures import multiclass_segment_nms  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.mark.skipif(not _has_nms(), reason='segment NMS not available yet')
@pytest.mark.parametrize('per_class', [False, True])
def test_prediction_output_format(per_class):
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg(
        head=head_cfg(boundary_per_class=per_class,
                      test_cfg=dict(nms=dict(max_num=30))))).eval()
    x, data = _toy_batch()
    with torch.no_grad():
        out = model(x, data, mode='predict')
    assert len(out) == 2
    for sample in out:
        pred = sample.pred_instances
        n = pred.scores.shape[0]
        assert 0 < n <= 30
        assert pred.segments.shape == (n, 2)
        assert pred.labels.dtype == torch.long
        assert ((pred.labels >= 0) & (pred.labels < K)).all()
        duration = sample.metainfo['duration']
        assert (pred.segments >= 0).all() and (pred.segments <=
                                               duration).all()
        assert (pred.segments[:, 1] >= pred.segments[:, 0]).all()
        assert (pred.scores[:-1] >= pred.scores[1:]).all()


def test_mixing_with_the_baseline_parts():
    """GMGNeck + ActionFormerHead and TransformerPyramidNeck + CLTDRHead."""
    af_head = dict(type='ActionFormerHead', num_classes=K, in_channels=D,
                   feat_channels=D,
                   prior_generator=dict(type='PointGenerator1D',
                                        strides=STRIDES,
                                        regression_ranges=RANGES))
    tp_neck = dict(type='TransformerPyramidNeck', in_channels=D,
                   num_levels=LEVELS, num_heads=2, window_size=5,
                   drop_path=0.0)
    for cfg in (detector_cfg(head=af_head), detector_cfg(neck=tp_neck)):
        model = MODELS.build(cfg)
        losses = model(torch.randn(2, 8, 40), samples(), mode='loss')
        sum(losses.values()).backward()
        assert all(torch.isfinite(v) for v in losses.values())
        model.eval()
        with torch.no_grad():
            outs = model(torch.randn(1, 8, 40), mode='tensor')
        assert outs[0][0].shape == (1, K, 40)


def test_grid_segments_decode_with_stride():
    """Decoded segments sit around their point: zero distances give the
    point itself, on every level's grid (position i * stride)."""
    head = MODELS.build(head_cfg(refine_reg=False))
    feats, masks = pyramid(batch=1)
    outs = list(head(feats, masks))
    outs[2] = [torch.full_like(o, -1e4) for o in outs[2]]  # all mass on d=0
    for o in outs[2]:
        o[:, 0] = o[:, 5] = 1e4
    outs[3] = [torch.zeros_like(o) for o in outs[3]]
    outs[4] = [torch.zeros_like(o) for o in outs[4]]
    _, segs = head.decode_by_feat(*outs, masks=masks)
    for lvl, s in enumerate(segs):
        pos = torch.arange(s.shape[1]).float() * STRIDES[lvl]
        torch.testing.assert_close(s[0, :, 0], pos)
        torch.testing.assert_close(s[0, :, 1], pos)
