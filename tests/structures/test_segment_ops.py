"""tIoU, NMS and Soft-NMS against simple Python loop references."""
import math

import pytest
import torch

from mmtal_zoom.structures import (batched_segment_iou, multiclass_segment_nms,
                                   segment_iou, segment_nms, soft_nms)


def py_iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def ref_soft_nms(segs, scores, method, thr, sigma, min_score):
    """ActionFormer's loop, one class: keep the best, re-weight the rest."""
    cur = {i: s for i, s in enumerate(scores) if s >= min_score}
    out = []
    while cur:
        i = max(cur, key=lambda j: (cur[j], -j))
        out.append((i, cur.pop(i)))
        for j in list(cur):
            o = py_iou(segs[i], segs[j])
            if method == 'hard':
                w = 0.0 if o >= thr else 1.0
            elif method == 'linear':
                w = 1 - o if o >= thr else 1.0
            else:
                w = math.exp(-o * o / sigma)
            cur[j] *= w
            if (method == 'hard' and o >= thr) or cur[j] < min_score:
                del cur[j]
    return out


def ref_multiclass(segs, scores, labels, method, thr, sigma, min_score,
                   max_num, class_agnostic=False):
    out = []
    groups = [None] if class_agnostic else sorted(set(labels))
    for c in groups:
        idx = [i for i in range(len(scores))
               if class_agnostic or labels[i] == c]
        kept = ref_soft_nms([segs[i] for i in idx], [scores[i] for i in idx],
                            method, thr, sigma, min_score)
        out += [(idx[i], s) for i, s in kept]
    out.sort(key=lambda x: -x[1])
    return out[:max_num] if max_num else out


def random_dets(seed, k=60, num_classes=3):
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(k, generator=g, dtype=torch.float64) * 50
    length = torch.rand(k, generator=g, dtype=torch.float64) * 8 + 0.5
    segs = torch.stack([start, start + length], 1)
    scores = torch.rand(k, generator=g, dtype=torch.float64) * 0.9 + 0.05
    labels = torch.randint(0, num_classes, (k, ), generator=g)
    return segs, scores, labels


def test_segment_iou_values_and_shapes():
    a = torch.tensor([[0., 10.], [5., 6.], [3., 3.]])
    b = torch.tensor([[0., 10.], [5., 15.], [20., 30.], [3., 3.]])
    iou = segment_iou(a, b)
    assert iou.shape == (3, 4)
    expected = torch.tensor([[1., 1 / 3, 0., 0.], [0.1, 0.1, 0., 0.],
                             [0., 0., 0., 0.]])
    assert torch.allclose(iou, expected)
    assert not torch.isnan(iou).any()  # empty segments give 0, not NaN
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        segment_iou(a[None], b)


def test_batched_segment_iou_matches_per_sample():
    segs, _, _ = random_dets(0, k=24)
    a, b = segs[:12].view(3, 4, 2), segs[12:].view(3, 4, 2)
    out = batched_segment_iou(a, b)
    assert out.shape == (3, 4, 4)
    for i in range(3):
        assert torch.allclose(out[i], segment_iou(a[i], b[i]))
    loop = torch.tensor([[py_iou(x.tolist(), y.tolist()) for y in b[1]]
                         for x in a[1]], dtype=torch.float64)
    assert torch.allclose(out[1], loop)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_hard_nms_matches_greedy_loop(seed):
    segs, scores, labels = random_dets(seed)
    keep = segment_nms(segs, scores, iou_threshold=0.3)
    ref = ref_soft_nms(segs.tolist(), scores.tolist(), 'hard', 0.3, 0.5, 0.0)
    assert keep.tolist() == [i for i, _ in ref]
    assert len(keep) < len(scores)  # something was suppressed
    # class-aware
    keep = segment_nms(segs, scores, 0.3, labels=labels, max_num=10)
    ref = ref_multiclass(segs.tolist(), scores.tolist(), labels.tolist(),
                         'hard', 0.3, 0.5, 0.0, 10)
    assert keep.tolist() == [i for i, _ in ref]


@pytest.mark.parametrize('method', ['hard', 'linear', 'gaussian'])
@pytest.mark.parametrize('class_agnostic', [False, True])
def test_multiclass_nms_matches_loop_reference(method, class_agnostic):
    for seed in range(3):
        segs, scores, labels = random_dets(10 + seed)
        cfg = dict(method=method, iou_threshold=0.2, sigma=0.5,
                   min_score=0.05, max_num=25, class_agnostic=class_agnostic)
        out_segs, out_scores, out_labels = multiclass_segment_nms(
            segs, scores, labels, cfg)
        ref = ref_multiclass(segs.tolist(), scores.tolist(), labels.tolist(),
                             method, 0.2, 0.5, 0.05, 25, class_agnostic)
        idx = [i for i, _ in ref]
        assert len(out_scores) == len(ref) > 0
        assert torch.allclose(out_scores,
                              torch.tensor([s for _, s in ref],
                                           dtype=torch.float64))
        assert torch.equal(out_segs, segs[idx])
        assert torch.equal(out_labels, labels[idx])
        assert (out_scores[:-1] >= out_scores[1:]).all()
        assert (out_scores >= 0.05).all()


def test_soft_nms_decay_rules_by_hand():
    segs = torch.tensor([[0., 10.], [0., 5.], [20., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # tIoU(0, 1) = 0.5
    keep, new = soft_nms(segs, scores, method='linear', iou_threshold=0.4,
                         min_score=0.0)
    assert keep.tolist() == [0, 2, 1]
    assert torch.allclose(new, torch.tensor([0.9, 0.7, 0.4]))
    keep, new = soft_nms(segs, scores, method='linear', iou_threshold=0.6,
                         min_score=0.0)
    assert torch.allclose(new, torch.tensor([0.9, 0.8, 0.7]))  # below thr
    keep, new = soft_nms(segs, scores, method='gaussian', sigma=0.5,
                         min_score=0.0)
    assert keep.tolist() == [0, 2, 1]
    assert math.isclose(new[2].item(), 0.8 * math.exp(-0.25 / 0.5),
                        rel_tol=1e-6)
    keep, _ = soft_nms(segs, scores, method='hard', iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    keep, _ = soft_nms(segs, scores, method='linear', iou_threshold=0.4,
                       min_score=0.5)  # 0.4 < 0.5: dropped
    assert keep.tolist() == [0, 2]
    # different classes never suppress each other
    keep, _ = soft_nms(segs, scores, labels=torch.tensor([0, 1, 0]),
                       method='hard', iou_threshold=0.1)
    assert keep.tolist() == [0, 1, 2]


def test_nms_handles_empty_and_keeps_inputs():
    segs = torch.zeros(0, 2)
    out = multiclass_segment_nms(segs, torch.zeros(0),
                                 torch.zeros(0, dtype=torch.long),
                                 dict(method='gaussian'))
    assert [tuple(o.shape) for o in out] == [(0, 2), (0, ), (0, )]
    assert out[2].dtype == torch.long
    assert segment_nms(segs, torch.zeros(0), 0.5).numel() == 0
    s, sc, lab = random_dets(3, k=20)
    sc_before = sc.clone()
    multiclass_segment_nms(s, sc, lab, dict(method='linear', max_num=5))
    assert torch.equal(sc, sc_before)


def test_nms_bad_config_is_clear():
    segs, scores, labels = random_dets(0, k=5)
    with pytest.raises(ValueError, match='hard'):
        multiclass_segment_nms(segs, scores, labels, dict(method='soft'))
    with pytest.raises(KeyError, match='iou_thr'):
        multiclass_segment_nms(segs, scores, labels, dict(iou_thr=0.5))
    with pytest.raises(ValueError, match='same K'):
        soft_nms(segs, scores[:3])


def test_nms_float32_and_all_below_min_score():
    segs, scores, labels = random_dets(4, k=30)
    out = multiclass_segment_nms(segs.float(), scores.float(), labels,
                                 dict(method='gaussian', max_num=200))
    assert out[0].dtype == torch.float32 and out[1].dtype == torch.float32
    out = multiclass_segment_nms(segs, scores * 0, labels,
                                 dict(method='linear', min_score=0.01))
    assert out[1].numel() == 0


def test_gpu_style_lazy_exit_gives_same_result(monkeypatch):
    """On GPU the loop checks for survivors only every 16 steps; the extra
    steps must not add detections."""
    from mmtal_zoom.structures import segment_ops
    segs, scores, labels = random_dets(21, k=40)
    cfg = dict(method='hard', iou_threshold=0.05, min_score=0.3, max_num=0)
    eager = multiclass_segment_nms(segs, scores, labels, cfg)
    monkeypatch.setitem(segment_ops._SYNC_EVERY, 'cpu', 16)
    lazy = multiclass_segment_nms(segs, scores, labels, cfg)
    assert 0 < len(eager[1]) < 40 and len(eager[1]) % 16  # extra steps run
    for a, b in zip(eager, lazy):
        assert torch.equal(a, b)
