"""Paired bootstrap of the detection mAP over videos: the full-set figures
are evaluate_detection's, a draw equals the evaluation of the drawn videos
written out as separate videos, and the interval behaves."""
import numpy as np
import pytest
from test_detection_map import random_problem

from mmtal_zoom.evaluation.functional import (evaluate_detection,
                                              paired_bootstrap_map,
                                              percentile_interval)

NUM_CLASSES = 4


def as_dicts(seed, num_videos=12):
    (gv, gs, gl), (pv, ps, sc, pl) = random_problem(seed, num_videos,
                                                    NUM_CLASSES)
    gt = {f'v{v}': dict(segments=gs[gv == v], labels=gl[gv == v])
          for v in range(num_videos)}
    # predictions of videos without ground truth are outside the test set
    pred = {f'v{v}': dict(segments=ps[pv == v], scores=sc[pv == v],
                          labels=pl[pv == v]) for v in range(num_videos)}
    return gt, pred


def test_full_set_is_evaluate_detection():
    gt, pred = as_dicts(0)
    res = paired_bootstrap_map(gt, [pred], NUM_CLASSES, num_samples=2)
    ref = evaluate_detection(gt, pred, NUM_CLASSES, length_buckets=None,
                             recall_topk=None)
    np.testing.assert_allclose(res['full_mAP'][0], ref['mAP'])
    assert res['full_average_mAP'][0] == pytest.approx(ref['average_mAP'])
    np.testing.assert_array_equal(res['num_gt'], ref['num_gt'])


def test_a_draw_is_the_drawn_videos_evaluated_as_separate_videos():
    gt, pred = as_dicts(1)
    seed = 7
    res = paired_bootstrap_map(gt, [pred], NUM_CLASSES, num_samples=1,
                               seed=seed)
    names = list(gt)
    draw = np.random.default_rng(seed).integers(0, len(names), len(names))
    assert len(set(draw)) < len(names)  # some video drawn twice
    counts = np.bincount(draw, minlength=len(names))
    # copies in the order of the original videos (ties: input order)
    gt_d, pred_d = {}, {}
    for i, v in enumerate(names):
        for k in range(counts[i]):
            gt_d[f'{v}#{k}'] = gt[v]
            pred_d[f'{v}#{k}'] = pred[v]
    ref = evaluate_detection(gt_d, pred_d, NUM_CLASSES, length_buckets=None,
                             recall_topk=None)
    np.testing.assert_allclose(res['mAP'][0, 0], ref['mAP'])
    assert res['average_mAP'][0, 0] != pytest.approx(
        res['full_average_mAP'][0])


def test_identical_methods_differ_by_zero_in_every_draw():
    gt, pred = as_dicts(2)
    res = paired_bootstrap_map(gt, [pred, pred], NUM_CLASSES, num_samples=50)
    diff = res['average_mAP'][:, 1] - res['average_mAP'][:, 0]
    np.testing.assert_array_equal(diff, 0)
    assert res['average_mAP'][:, 0].std() > 0  # the draws do differ


def test_a_clearly_better_method_has_an_interval_above_zero():
    gt, pred = as_dicts(3, num_videos=30)
    perfect = {v: dict(segments=g['segments'],
                       scores=np.linspace(1, 0.5, len(g['labels'])),
                       labels=g['labels']) for v, g in gt.items()}
    res = paired_bootstrap_map(gt, [pred, perfect], NUM_CLASSES,
                               num_samples=200, seed=0)
    assert res['full_average_mAP'][1] == pytest.approx(1.0)
    diff = res['average_mAP'][:, 1] - res['average_mAP'][:, 0]
    lo, hi = percentile_interval(diff)
    assert 0 < lo <= hi
    # same seed, same draws
    again = paired_bootstrap_map(gt, [pred, perfect], NUM_CLASSES,
                                 num_samples=200, seed=0)
    np.testing.assert_array_equal(again['average_mAP'], res['average_mAP'])


def test_bad_arguments():
    gt, pred = as_dicts(0)
    with pytest.raises(ValueError, match='num_samples'):
        paired_bootstrap_map(gt, [pred], NUM_CLASSES, num_samples=0)
    with pytest.raises(ValueError, match='no ground-truth videos'):
        paired_bootstrap_map({}, [pred], NUM_CLASSES)
    with pytest.raises(ValueError, match='level'):
        percentile_interval(np.zeros(3), level=1.5)
