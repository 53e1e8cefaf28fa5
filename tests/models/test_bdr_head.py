"""BDRHead and its retrofit (BDRRefinedHead) on ActionFormer's and CLTDR's
heads inside the unchanged TALDetector; DistillationHead's KD terms."""
import copy
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import RANGES, STRIDES, baseline_body  # noqa: E402
from tal_batches import make_batch as batch  # noqa: E402
from tal_batches import make_sample as sample  # noqa: E402


def base_head(kind='ActionFormerHead'):
    cfg = dict(type=kind, num_classes=3, in_channels=16, feat_channels=16,
               prior_generator=dict(type='PointGenerator1D', strides=STRIDES,
                                    regression_ranges=RANGES))
    if kind == 'CLTDRHead':
        cfg.update(num_bins=4)
    return cfg


def refined_head(kind='ActionFormerHead', **kw):
    cfg = dict(type='BDRRefinedHead', base_head=base_head(kind),
               bdr=dict(type='BDRHead', in_channels=16, feat_channels=16,
                        truncation=8.0),
               snap_window=2.0)
    cfg.update(kw)
    return cfg


def detector(head):
    return MODELS.build(dict(type='TALDetector', **baseline_body(),
                             head=head))


def test_bdr_head_loss_and_gradient():
    head = MODELS.build(dict(type='BDRHead', in_channels=16,
                             feat_channels=16, truncation=8.0))
    feats = [torch.randn(2, 16, 32, requires_grad=True)]
    masks = [torch.ones(2, 32, dtype=torch.bool)]
    masks[0][1, 20:] = False
    samples = [sample(32, [[5, 15]], [0], 'a'), sample(20, [[3, 9]], [1], 'b')]
    dists = head(feats, masks)
    assert dists[0].shape == (2, 2, 32)
    assert (dists[0][1, :, 20:] == 0).all()
    loss = head.loss_by_feat(dists, masks, samples)['loss_bdr']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert feats[0].grad.abs().sum() > 0
    # perfect predictions give zero loss
    tgt, w = head.get_targets(masks[0], samples)
    assert head.loss_by_feat([tgt.transpose(1, 2)], masks,
                             samples)['loss_bdr'].item() == pytest.approx(0)


def test_detach_feats_keeps_the_bdr_loss_out_of_the_features():
    """With ``detach_feats`` the BDR branch still learns but its loss sends
    no gradient into the shared features; the distances are the same."""
    torch.manual_seed(0)
    cfg = dict(type='BDRHead', in_channels=16, feat_channels=16,
               truncation=8.0)
    plain = MODELS.build(cfg)
    detached = MODELS.build(dict(cfg, detach_feats=True))
    detached.load_state_dict(plain.state_dict())
    masks = [torch.ones(2, 32, dtype=torch.bool)]
    samples = [sample(32, [[5, 15]], [0], 'a'), sample(32, [[3, 9]], [1], 'b')]
    grads = []
    x = torch.randn(2, 16, 32)
    for head in (plain, detached):
        feats = [x.clone().requires_grad_()]
        dists = head(feats, masks)
        head.loss_by_feat(dists, masks, samples)['loss_bdr'].backward()
        grads.append(feats[0].grad)
        assert head.tower.out_conv.weight.grad.abs().sum() > 0
        if head is plain:
            ref = dists[0].detach()
        else:
            torch.testing.assert_close(dists[0], ref)
    assert grads[0] is not None and grads[0].abs().sum() > 0
    assert grads[1] is None


@pytest.mark.parametrize('kind', ['ActionFormerHead', 'CLTDRHead'])
def test_retrofit_loss_keeps_base_losses_and_adds_bdr(kind):
    torch.manual_seed(0)
    model = detector(refined_head(kind))
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    plain = detector(base_head(kind))
    plain_losses = plain(**plain.data_preprocessor(batch(), training=True),
                         mode='loss')
    assert set(losses) == set(plain_losses) | {'loss_bdr'}
    total = sum(losses.values())
    total.backward()
    assert model.head.bdr.tower.out_conv.weight.grad.abs().sum() > 0
    assert model.head.inner_head.cls_tower.out_conv.weight.grad.abs().sum() > 0
    # the detector is untouched: raw outputs = base outputs + the BDR field
    with torch.no_grad():
        outs = model(data['inputs'], mode='tensor', masks=data['masks'])
    assert len(outs) == len(plain_losses and plain.head(
        *plain.extract_feat(data['inputs'], data['masks']))) + 1
    assert outs[-1][0].shape == (2, 2, data['inputs'].shape[-1])


def ideal_field(length, starts, ends, truncation=8.0):
    t = torch.arange(length, dtype=torch.float32)

    def field(bounds):
        b = torch.tensor(bounds)
        d = t[:, None] - b[None]
        return d.gather(1, d.abs().argmin(1, keepdim=True))[:, 0].clamp(
            -truncation, truncation)

    return torch.stack([field(starts), field(ends)])[None]


def with_ideal_field(head):
    """A detector with ``head`` on random features of 64 snippets, its BDR
    output replaced by the ideal field of starts 10.4 / 40 and ends 19.6 /
    44: ``(model, outs, masks)``."""
    torch.manual_seed(0)
    model = detector(head).eval()
    x = torch.randn(1, 8, 64)
    mask = torch.ones(1, 64, dtype=torch.bool)
    with torch.no_grad():
        feats, masks = model.extract_feat(x, mask)
        outs = list(model.head(feats, masks))
    outs[-1] = [ideal_field(64, [10.4, 40.0], [19.6, 44.0])]
    return model, outs, masks


@pytest.mark.parametrize('kind', ['ActionFormerHead', 'CLTDRHead'])
def test_decoding_snaps_to_zero_crossings_within_the_window(kind):
    model, outs, masks = with_ideal_field(refined_head(kind))
    scores, raw = model.head.inner_head.decode_by_feat(*outs[:-1], masks=masks)
    # candidates around the true boundaries, -3 .. +3 grid units off
    g = torch.Generator().manual_seed(1)
    crafted = []
    for r in raw:
        off = torch.rand(r.shape, generator=g) * 6 - 3
        base = torch.tensor([10.4, 19.6]).expand_as(r)
        crafted.append(base + off)
    model.head.inner_head.decode_by_feat = lambda *a, **k: (scores, crafted)
    _, snapped = model.head.decode_by_feat(*outs, masks=masks)
    raw, snapped = torch.cat(crafted, 1), torch.cat(snapped, 1)
    assert raw.shape == snapped.shape
    s_raw, s_new = raw[..., 0].flatten(), snapped[..., 0].flatten()
    e_raw, e_new = raw[..., 1].flatten(), snapped[..., 1].flatten()
    near_s = (s_raw - 10.4).abs() <= 2.0
    near_e = (e_raw - 19.6).abs() <= 2.0
    assert near_s.sum() > 10 and (~near_s).sum() > 10
    assert torch.allclose(s_new[near_s], torch.full_like(s_new[near_s], 10.4))
    assert torch.allclose(e_new[near_e], torch.full_like(e_new[near_e], 19.6))
    # farther than the window from every crossing: unchanged
    assert torch.equal(s_new[~near_s], s_raw[~near_s])
    assert torch.equal(e_new[~near_e], e_raw[~near_e])
    # snapping off: the base decoding
    model.head.snap = False
    _, same = model.head.decode_by_feat(*outs, masks=masks)
    assert torch.equal(torch.cat(same, 1), raw)


@pytest.mark.parametrize('pair_score', ['centre', 'mean'])
def test_crossings_source_pairs_zero_crossings_scored_by_the_classifier(
        pair_score):
    model, outs, masks = with_ideal_field(refined_head(
        boundary_source='crossings', max_length=10.0, pair_score=pair_score))
    # the classifier: class 1 inside [10, 20], class 2 inside [40, 44]
    probs = torch.full((1, 64, 3), 0.01)
    probs[0, 11:20, 1] = 0.9
    probs[0, 40:45, 2] = 0.6  # points 40 .. 44 lie in [40, 44]
    n = [m.shape[1] for m in masks]
    model.head.inner_head.decode_by_feat = lambda *a, **k: (
        [probs] + [torch.zeros(1, t, 3) for t in n[1:]],
        [torch.zeros(1, t, 2) for t in n])
    seen = []
    model.head.predict_by_feat_single = lambda sc, sg, *a, **k: seen.append(
        (sc, sg))
    model.head.predict_by_feat(*outs, masks=masks,
                               data_samples=[sample(64, [], [])])
    (scores, segs), = seen
    # (10.4, 44.0) is longer than max_length
    assert torch.allclose(segs, torch.tensor([[10.4, 19.6], [40.0, 44.0]]))
    assert scores[0].argmax() == 1 and scores[1].argmax() == 2
    assert torch.allclose(scores[0, 1], torch.tensor(0.9))
    assert torch.allclose(scores[1, 2], torch.tensor(0.6))
    with pytest.raises(ValueError, match='boundary_source'):
        MODELS.build(refined_head(boundary_source='nope'))


@pytest.mark.parametrize('source', ['snap', 'crossings'])
def test_predict_returns_seconds_scores_labels_for_every_source(source):
    model = detector(refined_head(boundary_source=source)).eval()
    data = model.data_preprocessor(batch(), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    for s in out:
        pred = s.pred_instances
        assert pred.segments.shape[-1] == 2 and len(pred.scores) == len(
            pred.labels)
        assert (pred.segments >= 0).all()
        assert (pred.segments <= s.metainfo['duration'] + 1e-5).all()


def test_distillation_head_terms():
    torch.manual_seed(0)
    student = detector(dict(type='DistillationHead',
                            student=refined_head(), cls_index=0,
                            reg_index=1, temperature=2.0))
    teacher = detector(base_head())
    data = student.data_preprocessor(batch(), training=True)
    # without teacher outputs: the student's losses only
    losses = student(**copy.deepcopy(data), mode='loss')
    assert 'loss_kd_cls' not in losses and 'loss_bdr' in losses
    with torch.no_grad():
        t_outs = teacher(data['inputs'], mode='tensor', masks=data['masks'])
    for i, s in enumerate(data['data_samples']):
        s.kd_teacher_outs = tuple([lvl[i] for lvl in o] for o in t_outs)
    losses = student(**data, mode='loss')
    assert losses['loss_kd_cls'] > 0 and losses['loss_kd_reg'] > 0
    losses['loss_kd_cls'].backward()
    assert student.head.inner_head.inner_head.cls_tower.out_conv.weight.grad \
        .abs().sum() > 0
    # a student identical to the teacher has zero KD loss
    twin = detector(dict(type='DistillationHead', student=base_head(),
                         reg_index=1))
    twin.load_state_dict(
        {'head.student.' + k[5:] if k.startswith('head.') else k: v
         for k, v in teacher.state_dict().items()})
    kd = twin(**data, mode='loss')
    assert kd['loss_kd_cls'].item() == pytest.approx(0.0, abs=1e-5)
    assert kd['loss_kd_reg'].item() == pytest.approx(0.0, abs=1e-6)


def test_distillation_head_distils_classification_only_by_default():
    """The regression term collapsed students on the embedded benchmark
    (docs/zoom.md), so it is opt-in."""
    torch.manual_seed(0)
    student = detector(dict(type='DistillationHead', student=refined_head()))
    teacher = detector(base_head())
    data = student.data_preprocessor(batch(), training=True)
    with torch.no_grad():
        t_outs = teacher(data['inputs'], mode='tensor', masks=data['masks'])
    for i, s in enumerate(data['data_samples']):
        s.kd_teacher_outs = tuple([lvl[i] for lvl in o] for o in t_outs)
    losses = student(**data, mode='loss')
    assert losses['loss_kd_cls'] > 0
    assert 'loss_kd_reg' not in losses
