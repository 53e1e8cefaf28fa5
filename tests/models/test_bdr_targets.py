"""BDR's pieces on hand-made cases: signed-distance targets (adjacent and
overlapping actions, video edges, truncation), zero-crossing extraction with
sub-snippet interpolation, nearest-crossing lookup, snapping, the loss."""
import pytest
import torch

from mmaction.registry import MODELS, TASK_UTILS
from mmtal_zoom.models.task_modules.zero_crossing import (
    crossing_pairs, crossings_to_list, nearest_zero_crossing,
    segment_centre_scores, segment_mean_scores, snap_to_zero_crossings,
    zero_crossings)


def targets(segments, length=40, valid_len=None, truncation=16.0):
    gen = TASK_UTILS.build(dict(type='SignedDistanceTarget',
                                truncation=truncation))
    pos = torch.arange(length, dtype=torch.float32)
    valid = torch.arange(length) < (valid_len or length)
    return gen.get_targets(pos, valid, torch.as_tensor(segments,
                                                       dtype=torch.float32))


def test_single_action_field_is_t_minus_b():
    tgt, w = targets([[10.0, 25.0]])
    t = torch.arange(40.0)
    assert torch.allclose(tgt[:, 0], (t - 10).clamp(-16, 16))
    assert torch.allclose(tgt[:, 1], (t - 25).clamp(-16, 16))
    assert (w == 1).all()
    # |d'| = 1 wherever the field is not truncated
    slope = tgt[1:, 0] - tgt[:-1, 0]
    inside = tgt[1:, 0].abs() < 16
    assert torch.allclose(slope[inside], torch.ones_like(slope[inside]))


def test_adjacent_actions_share_a_position_in_both_fields():
    tgt, _ = targets([[10.0, 20.0], [20.0, 30.0]])
    assert tgt[20, 0] == 0 and tgt[20, 1] == 0  # start of 2nd, end of 1st
    assert tgt[16, 0] == -4  # nearer to the start at 20 than the one at 10
    assert tgt[14, 0] == 4
    starts = crossings_to_list(zero_crossings(tgt[None, :, 0],
                                              torch.ones(1, 40, dtype=bool)))
    ends = crossings_to_list(zero_crossings(tgt[None, :, 1],
                                            torch.ones(1, 40, dtype=bool)))
    assert torch.allclose(starts[0], torch.tensor([10.0, 20.0]))
    assert torch.allclose(ends[0], torch.tensor([20.0, 30.0]))


def test_overlapping_actions_every_boundary_and_no_spurious_crossing():
    tgt, _ = targets([[5.0, 25.0], [15.0, 35.0]], length=50)
    ok = torch.ones(1, 50, dtype=bool)
    starts = crossings_to_list(zero_crossings(tgt[None, :, 0], ok))[0]
    ends = crossings_to_list(zero_crossings(tgt[None, :, 1], ok))[0]
    assert torch.allclose(starts, torch.tensor([5.0, 15.0]))
    assert torch.allclose(ends, torch.tensor([25.0, 35.0]))
    # the half-way switch between the starts 5 and 15 is a descending jump
    assert tgt[10, 0] == 5 and tgt[11, 0] == -4


def test_sub_snippet_boundaries_are_recovered_exactly():
    tgt, _ = targets([[10.3, 20.7]])
    ok = torch.ones(1, 40, dtype=bool)
    s = crossings_to_list(zero_crossings(tgt[None, :, 0], ok))[0]
    e = crossings_to_list(zero_crossings(tgt[None, :, 1], ok))[0]
    assert s.tolist() == pytest.approx([10.3], abs=1e-5)
    assert e.tolist() == pytest.approx([20.7], abs=1e-5)


def test_truncation_bounds_the_field():
    tgt, _ = targets([[30.0, 35.0]], length=80, truncation=8.0)
    assert tgt.abs().max() == 8.0
    assert (tgt[:20, 0] == -8).all() and (tgt[50:, 1] == 8).all()


def test_video_edges_and_padding_are_ignored():
    # starts before the video, ends after its last valid step (35 of 40)
    tgt, w = targets([[-3.0, 8.0], [20.0, 45.0]], length=40, valid_len=35)
    t = torch.arange(40.0)
    # the field keeps the true geometry
    assert torch.allclose(tgt[:5, 0], (t[:5] + 3))
    # steps whose nearest start is the unobservable one at -3 are ignored
    assert (w[:9, 0] == 0).all() and (w[9:35, 0] == 1).all()
    # the end at 45 lies beyond the last valid step: ignored near it
    assert (w[27:35, 1] == 0).all() and (w[:27, 1] == 1).all()
    # padded steps never count
    assert (w[35:] == 0).all()
    # a crop-edge boundary (start exactly at the first step) is unobserved
    _, w0 = targets([[0.0, 10.0]], length=20)
    assert (w0[:5, 0] == 0).all()


def test_no_ground_truth_gives_a_field_without_crossings():
    tgt, w = targets(torch.zeros(0, 2), length=20)
    assert (tgt == 16).all() and (w == 1).all()


def test_zero_crossings_filters_descending_flat_and_invalid():
    d = torch.tensor([[-2.0, -1.0, 1.0, 2.0, -2.0, -1.0, 0.0, 1.0]])
    ok = torch.ones_like(d, dtype=bool)
    x = crossings_to_list(zero_crossings(d, ok))[0]
    assert x.tolist() == pytest.approx([1.5, 6.0])  # not the 3 -> 4 drop
    flat = torch.tensor([[-0.05, 0.05, 0.1]])
    assert crossings_to_list(zero_crossings(flat, ok[:, :3], 0.5))[0].numel() \
        == 0
    assert crossings_to_list(zero_crossings(flat, ok[:, :3], 0.0))[0].numel() \
        == 1
    masked = ok.clone()
    masked[0, 2] = False
    x = crossings_to_list(zero_crossings(d, masked))[0]
    assert x.tolist() == pytest.approx([6.0])


def test_nearest_crossing_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    b, t = 3, 50
    cross = torch.full((b, t), float('nan'))
    has = torch.rand(b, t, generator=g) < 0.15
    cross[has] = (torch.arange(t).float().expand(b, t) +
                  torch.rand(b, t, generator=g))[has]
    cross[2] = float('nan')  # a video without crossings
    q = torch.rand(b, 200, generator=g) * (t + 10) - 5
    nearest, dist = nearest_zero_crossing(q, cross)
    for i in range(b):
        pts = cross[i][~torch.isnan(cross[i])]
        if pts.numel() == 0:
            assert torch.isinf(dist[i]).all()
            continue
        ref = (q[i, :, None] - pts[None]).abs()
        best, arg = ref.min(dim=1)
        assert torch.allclose(dist[i], best, atol=1e-5)
        assert torch.allclose(nearest[i], pts[arg], atol=1e-5)


def test_snapping_window_keep_and_order():
    cross_s = torch.full((1, 40), float('nan'))
    cross_e = torch.full((1, 40), float('nan'))
    cross_s[0, 10] = 10.4  # start crossing
    cross_e[0, 19] = 19.6  # end crossing
    cross_e[0, 3] = 3.5  # an end crossing left of the start one
    segs = torch.tensor([[[9.5, 20.5],  # both within 2: snapped
                          [5.0, 25.0],  # both too far: kept
                          [10.0, 4.0]]])  # end snaps to 3.5 < 10.4: kept
    out, moved = snap_to_zero_crossings(segs, cross_s, cross_e, stride=1.0,
                                        window=2.0)
    assert out[0, 0].tolist() == pytest.approx([10.4, 19.6])
    assert out[0, 1].tolist() == [5.0, 25.0]
    assert out[0, 2].tolist() == [10.0, 4.0]
    assert moved[0, 0].tolist() == [True, True]
    assert not moved[0, 1:].any()
    # per-class boundaries (B, P, K, 2) and a coarser level (stride 2)
    per_class = segs[:, :, None].expand(1, 3, 4, 2).contiguous()
    half_s = torch.full((1, 20), float('nan'))
    half_e = torch.full((1, 20), float('nan'))
    half_s[0, 5], half_e[0, 9] = 5.2, 9.8  # 10.4 / 19.6 in grid units
    out2, _ = snap_to_zero_crossings(per_class, half_s, half_e, stride=2.0,
                                     window=2.0)
    assert out2.shape == per_class.shape
    assert out2[0, 0, 3].tolist() == pytest.approx([10.4, 19.6])


def test_signed_distance_loss_is_robust_and_boundary_weighted():
    loss = MODELS.build(dict(type='SignedDistanceLoss', beta=1.0,
                             boundary_sigma=2.0, boundary_weight=4.0,
                             reduction='none'))
    target = torch.tensor([0.0, 0.0, 10.0, 10.0])
    pred = torch.tensor([0.5, 3.0, 10.5, 13.0], requires_grad=True)
    out = loss(pred, target)
    w = 1 + 4 * torch.exp(-target**2 / 8)
    huber = torch.tensor([0.125, 2.5, 0.125, 2.5])
    assert torch.allclose(out, huber * w)
    out.sum().backward()
    # bounded gradient in the linear regime, larger at the boundary
    assert pred.grad[1] == pytest.approx(5.0)
    assert pred.grad[3] == pytest.approx(float(1 + 4 * torch.exp(
        torch.tensor(-12.5))), rel=1e-5)
    with pytest.raises(ValueError, match='same shape'):
        loss(pred, target[:3])


def test_crossing_pairs_and_segment_scores_match_brute_force():
    g = torch.Generator().manual_seed(0)
    starts = torch.full((2, 30), float('nan'))
    ends = torch.full((2, 30), float('nan'))
    starts[0, [2, 9, 20]] = torch.tensor([2.5, 9.1, 20.7])
    ends[0, [5, 12, 27]] = torch.tensor([5.2, 12.9, 27.3])
    ends[1, 3] = 3.5  # no start in video 1
    pairs = crossing_pairs(starts, ends, max_length=10.0)
    expected = [(s, e) for s in (2.5, 9.1, 20.7) for e in (5.2, 12.9, 27.3)
                if 0 < e - s <= 10.0]
    assert torch.allclose(pairs[0], torch.tensor(expected))
    assert pairs[1].shape == (0, 2)
    probs = torch.rand(30, 4, generator=g)
    positions = torch.arange(30, dtype=torch.float32) * 2.0
    segs = torch.tensor([[3.0, 9.0], [0.0, 58.0], [4.2, 4.8], [57.5, 60.0]])
    got = segment_mean_scores(probs, positions, segs)
    for k, (s, e) in enumerate(segs.tolist()):
        inside = (positions >= s) & (positions <= e)
        if inside.any():
            want = probs[inside].mean(0)
        else:  # no point inside: the one nearest the centre
            want = probs[(positions - (s + e) / 2).abs().argmin()]
        assert torch.allclose(got[k], want, atol=1e-6), k


def test_centre_scores_take_the_best_level_at_the_centre():
    # a long action: the finest level is trained low inside it, the coarse
    # level high at its centre
    fine = torch.full((64, 2), 0.05)
    coarse = torch.full((16, 2), 0.05)
    coarse[10, 1] = 0.8  # position 40 on the stride-4 level
    segs = torch.tensor([[24.0, 56.0], [0.0, 4.0]])
    got = segment_centre_scores([fine, coarse], [1.0, 4.0], segs)
    assert torch.allclose(got[0], torch.tensor([0.05, 0.8]))
    assert torch.allclose(got[1], torch.tensor([0.05, 0.05]))
    # the mean over the finest level misses it
    mean = segment_mean_scores(fine, torch.arange(64.0), segs)
    assert mean[0, 1] < 0.1
    with pytest.raises(ValueError, match='no valid point'):
        segment_centre_scores([fine[:0]], [1.0], segs)
