"""Vectorised detection mAP: equal to MMAction2's reference, plus hand-made
cases for AP, length buckets and recall@k."""
import numpy as np
import pytest

from mmaction.evaluation.functional import average_precision_at_temporal_iou
from mmaction.evaluation.functional.eval_detection import \
    compute_average_precision_detection
from mmtal_zoom.evaluation.functional import (detection_average_precision,
                                              evaluate_detection,
                                              length_bucket_name,
                                              match_detections)


def random_problem(seed, num_videos=12, num_classes=4):
    """Ground truth and predictions (jittered copies, wrong classes,
    background, videos without ground truth), unique scores."""
    rng = np.random.default_rng(seed)
    gv, gs, gl = [], [], []
    for v in range(num_videos):
        n = rng.integers(1, 9)
        start = rng.uniform(0, 100, n)
        length = rng.uniform(0.3, 15, n)
        gv += [v] * n
        gs.append(np.stack([start, start + length], 1))
        gl.append(rng.integers(0, num_classes, n))
    gs, gl, gv = np.concatenate(gs), np.concatenate(gl), np.asarray(gv)
    pv, ps, pl = [], [], []
    for i in range(len(gl)):
        for _ in range(rng.integers(0, 5)):
            length = (gs[i, 1] - gs[i, 0]) * rng.uniform(0.5, 1.5)
            centre = gs[i].mean() + rng.normal(0, 0.3) * length
            pv.append(gv[i])
            ps.append([centre - length / 2, centre + length / 2])
            pl.append(gl[i] if rng.random() < 0.8 else
                      rng.integers(0, num_classes))
    for _ in range(150):
        s = rng.uniform(0, 100)
        pv.append(rng.integers(0, num_videos + 2))  # +2: videos without GT
        ps.append([s, s + rng.uniform(0.3, 15)])
        pl.append(rng.integers(0, num_classes))
    pv, ps, pl = np.asarray(pv), np.asarray(ps), np.asarray(pl)
    scores = (rng.permutation(len(pv)) + 1.0) / (len(pv) + 1)
    return (gv, gs, gl), (pv, ps, scores, pl)


def reference_ap(gt, pred, num_classes, thr):
    (gv, gs, gl), (pv, ps, sc, pl) = gt, pred
    out = np.zeros((num_classes, len(thr)))
    for c in range(num_classes):
        ground_truth = {}
        for v, s in zip(gv[gl == c], gs[gl == c]):
            ground_truth.setdefault(f'v{v}', []).append(list(s))
        m = pl == c
        prediction = [[f'v{v}', c, s[0], s[1], p]
                      for v, s, p in zip(pv[m], ps[m], sc[m])]
        out[c] = average_precision_at_temporal_iou(ground_truth, prediction,
                                                   np.asarray(thr))
    return out


@pytest.mark.parametrize('seed', range(4))
def test_equals_mmaction_reference(seed):
    gt, pred = random_problem(seed)
    for thr in ([0.3, 0.4, 0.5, 0.6, 0.7], np.linspace(0.5, 0.95, 10)):
        ours = detection_average_precision(*gt, *pred, 4, thr)
        ref = reference_ap(gt, pred, 4, thr)
        assert ours.shape == (4, len(thr))
        assert np.abs(ours - ref).max() <= 1e-6
        assert ref.max() > 0.1  # a non-trivial problem


def test_equals_activitynet_localization_reference():
    """Also MMAction2's second copy (eval_detection.py, float64 maths)."""
    gt, pred = random_problem(7)
    (gv, gs, gl), (pv, ps, sc, pl) = gt, pred
    thr = np.array([0.3, 0.5, 0.7])
    ours = detection_average_precision(*gt, *pred, 4, thr)
    for c in range(4):
        ground_truth = [{'video-id': v, 't-start': s[0], 't-end': s[1]}
                        for v, s in zip(gv[gl == c], gs[gl == c])]
        prediction = [{'video-id': v, 't-start': s[0], 't-end': s[1],
                       'score': p}
                      for v, s, p in zip(pv[pl == c], ps[pl == c],
                                         sc[pl == c])]
        ref = compute_average_precision_detection(ground_truth, prediction,
                                                  thr)
        assert np.abs(ours[c] - ref).max() <= 1e-6


def to_dicts(gt, pred):
    (gv, gs, gl), (pv, ps, sc, pl) = gt, pred
    ground_truth = {f'v{v}': dict(segments=gs[gv == v], labels=gl[gv == v])
                    for v in np.unique(gv)}
    predictions = {f'v{v}': dict(segments=ps[pv == v], scores=sc[pv == v],
                                 labels=pl[pv == v]) for v in np.unique(pv)}
    return ground_truth, predictions


def test_evaluate_detection_dict_api_equals_flat_api():
    gt, pred = random_problem(3)
    ground_truth, predictions = to_dicts(gt, pred)
    res = evaluate_detection(ground_truth, predictions, 4)
    ref = reference_ap(gt, pred, 4, res['tiou_thresholds'])
    assert np.abs(res['ap'] - ref).max() <= 1e-6
    assert np.allclose(res['mAP'], ref.mean(0), atol=1e-6)
    assert res['average_mAP'] == pytest.approx(ref.mean(), abs=1e-6)
    assert res['num_gt'].sum() == len(gt[2])


def single(segments, labels, scores=None):
    d = dict(segments=np.asarray(segments, float).reshape(-1, 2),
             labels=np.asarray(labels))
    if scores is not None:
        d['scores'] = np.asarray(scores, float)
    return d


def test_hand_made_ap_duplicates_and_missing_classes():
    gt = {'a': single([[0, 10], [20, 30]], [0, 0]), 'b': single([], [])}
    pred = {
        'a': single([[0, 10], [50, 60], [20, 30], [0, 10]], [0, 0, 0, 0],
                    [0.9, 0.8, 0.7, 0.6]),  # TP, FP, TP, duplicate = FP
        'b': single([[0, 5]], [1], [0.95]),  # class 1 has no ground truth
    }
    res = evaluate_detection(gt, pred, num_classes=3, tiou_thresholds=[0.5],
                             length_buckets=(), recall_topk=())
    # precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1
    assert res['ap'][0, 0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert np.isnan(res['ap'][1, 0]) and np.isnan(res['ap'][2, 0])
    assert res['mAP'][0] == pytest.approx(res['ap'][0, 0])  # mean of 1 class
    # a ground-truth video without predictions: its instances are missed
    gt['c'] = single([[0, 1]], [2])
    res = evaluate_detection(gt, pred, 3, [0.5], (), ())
    assert res['ap'][2, 0] == 0
    assert res['mAP'][0] == pytest.approx(res['ap'][0, 0] / 2)


def test_threshold_dependence():
    gt = {'a': single([[0, 10]], [0])}
    pred = {'a': single([[0, 4.5]], [0], [0.9])}  # tIoU 0.45
    res = evaluate_detection(gt, pred, 1, [0.3, 0.4, 0.5], (), ())
    assert res['ap'][0].tolist() == [1.0, 1.0, 0.0]


def test_length_buckets_ignore_matches_of_other_buckets():
    gt = {'a': single([[0, 1], [10, 22]], [0, 0])}  # 1 s and 12 s
    pred = {'a': single([[40, 41], [10, 22], [0, 1]], [0, 0, 0],
                        [0.95, 0.9, 0.8])}  # FP, TP (long), TP (short)
    res = evaluate_detection(gt, pred, 1, [0.5],
                             length_buckets=((0, 2), (2, 10), (10, np.inf)),
                             recall_topk=())
    assert res['bucket_names'] == ['<2s', '2-10s', '>10s']
    assert res['bucket_num_gt'].tolist() == [1, 0, 1]
    # full: FP, TP, TP -> precision 1/2, 2/3; interpolated: 2/3 throughout
    assert res['ap'][0, 0] == pytest.approx(2 / 3)
    # <2s: FP, (ignored), TP -> precision 1/2 at recall 1
    assert res['bucket_ap'][0, 0, 0] == pytest.approx(0.5)
    assert np.isnan(res['bucket_mAP'][1, 0])  # no ground truth there
    # >10s: FP, TP, (ignored) -> 1/2
    assert res['bucket_ap'][2, 0, 0] == pytest.approx(0.5)


def test_length_bucket_equals_restricted_ground_truth_without_confusion():
    """When no prediction matches ground truth of another bucket, a bucket's
    AP is the AP with only that bucket's ground truth."""
    gt, pred = random_problem(5)
    ground_truth, predictions = to_dicts(gt, pred)
    res = evaluate_detection(ground_truth, predictions, 4, [0.5],
                             length_buckets=((0, 5), (5, np.inf)))
    lengths = gt[1][:, 1] - gt[1][:, 0]
    matched, _ = match_detections(gt[0], gt[1], gt[2], pred[0], pred[1],
                                  pred[2], pred[3], [0.5])
    short = lengths < 5
    keep = ~((matched[:, 0] >= 0) & ~short[np.maximum(matched[:, 0], 0)])
    restricted = detection_average_precision(
        gt[0][short], gt[1][short], gt[2][short], pred[0][keep],
        pred[1][keep], pred[2][keep], pred[3][keep], 4, [0.5])
    assert np.allclose(res['bucket_ap'][0], restricted, equal_nan=True)


def test_recall_at_k():
    gt = {'a': single([[0, 10], [20, 30]], [0, 1]),
          'b': single([[0, 10]], [0])}
    pred = {
        'a': single([[0, 10], [20, 30], [20, 25], [0, 10]], [0, 0, 1, 0],
                    [0.9, 0.8, 0.7, 0.6]),
        # covers GT 1 with the wrong class (rank 2), then right class at
        # tIoU 0.5 only (rank 3)
        'b': single([[0, 4.5], [0, 10]], [0, 0], [0.9, 0.1]),
    }
    res = evaluate_detection(gt, pred, 2, [0.4, 0.6], length_buckets=(),
                             recall_topk=(1, 2, 3))
    # video a: GT0 at rank 1; GT1 (class 1) at rank 3 with tIoU 0.5
    # video b: GT at rank 1 with tIoU 0.45, rank 2 with tIoU 1
    assert res['recall'].tolist() == [[2 / 3, 1 / 3], [2 / 3, 2 / 3],
                                      [1.0, 2 / 3]]


def test_bad_inputs_are_clear():
    gt = {'a': single([[0, 10]], [0])}
    with pytest.raises(ValueError, match=r'labels must be in \[0, 1\)'):
        evaluate_detection(gt, {'a': single([[0, 1]], [3], [0.5])}, 1)
    with pytest.raises(ValueError, match="video 'a'"):
        evaluate_detection(gt, {'a': single([[0, 1]], [0], [0.5, 0.4])}, 1)
    with pytest.raises(KeyError, match='scores'):
        evaluate_detection(gt, {'a': single([[0, 1]], [0])}, 1)
    with pytest.raises(ValueError, match='thresholds'):
        evaluate_detection(gt, {}, 1, tiou_thresholds=[1.5])


def test_empty_inputs():
    res = evaluate_detection({}, {}, 2)
    assert np.isnan(res['mAP']).all()
    res = evaluate_detection({'a': single([[0, 1]], [0])}, {}, 2)
    assert res['mAP'].tolist() == [0.0] * 5
    assert length_bucket_name(0, np.inf) == 'all'


def test_equal_tiou_tie_break_as_reference():
    """A prediction equally close to two ground truths takes the later one,
    as the reference's reversed argsort does; that decides here whether the
    next prediction is a TP."""
    gt = (np.array([0, 0]), np.array([[0., 10.], [10., 20.]]),
          np.array([0, 0]))
    pred = (np.array([0, 0]), np.array([[5., 15.], [0., 9.]]),
            np.array([0.9, 0.8]), np.array([0, 0]))
    ours = detection_average_precision(*gt, *pred, 1, [0.3])
    ref = reference_ap(gt, pred, 1, [0.3])
    assert ref[0, 0] == pytest.approx(1.0)
    assert ours[0, 0] == pytest.approx(ref[0, 0])


def test_equals_reference_on_integer_grid_with_many_equal_tious():
    """Segments on an integer grid: many equal tIoU, where the choice of
    ground truth follows the reference's tie rule."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n_gt, n_pred = rng.integers(2, 12), rng.integers(5, 40)

        def segs(n):
            s = rng.integers(0, 20, n)
            return np.stack([s, s + rng.integers(1, 6, n)], 1).astype(float)

        gt = (rng.integers(0, 3, n_gt), segs(n_gt), rng.integers(0, 2, n_gt))
        pred = (rng.integers(0, 3, n_pred), segs(n_pred),
                rng.permutation(n_pred) / n_pred + 0.01,
                rng.integers(0, 2, n_pred))
        thr = [0.1, 0.3, 0.5]
        ours = detection_average_precision(*gt, *pred, 2, thr)
        with np.errstate(invalid='ignore'):
            ref = reference_ap(gt, pred, 2, thr)
        has_gt = np.bincount(gt[2], minlength=2) > 0
        assert np.abs(ours[has_gt] - ref[has_gt]).max() <= 1e-6
