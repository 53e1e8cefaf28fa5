"""Paired bootstrap over videos for the detection mAP of several methods.

Is a difference in average mAP between two methods evaluated on the same
test videos larger than what the choice of test videos alone produces? The
paired bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*,
1993, ch. 16; Koehn, EMNLP 2004, for system comparisons) redraws the test set
``num_samples`` times: ``V`` videos with replacement out of the ``V`` test
videos, the *same* draw for every method, and re-computes every method's mAP
on it (a video drawn twice counts as two videos). The spread of the
per-draw difference is the uncertainty that the test set puts on it; a 95%
interval that contains 0 means the test set cannot tell the methods apart.
It says nothing about the spread over training seeds, which adds to it.

Written here because neither mmengine, mmaction2 nor scipy resample a TAL
detection metric. Exactness: the greedy matching is local to a video, so it
is computed once per method; a draw only repeats the predictions and ground
truth of each video as often as it was drawn, and AP is re-computed from
those (the same numbers as :func:`evaluate_detection` on the drawn videos
written out as separate videos, up to the order among predictions of equal
score in different videos).
"""
from typing import Dict, Mapping, Sequence

import numpy as np

from .detection_map import _mean_over_classes, _per_class_ap, gather_videos
from .detection_matching import DEFAULT_TIOU_THRESHOLDS, match_detections

__all__ = ['paired_bootstrap_map', 'percentile_interval']


def paired_bootstrap_map(
        ground_truth: Mapping[str, Mapping],
        predictions: Sequence[Mapping[str, Mapping]],
        num_classes: int,
        tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
        num_samples: int = 1000,
        seed: int = 0) -> Dict[str, np.ndarray]:
    """Average mAP of each method on the full test set and on ``S`` paired
    bootstrap draws of its videos.

    Args:
        ground_truth (Mapping[str, Mapping]): ``video -> dict(segments (N, 2),
            labels (N,))``, every evaluated video (the resampling units).
        predictions (Sequence[Mapping]): one ``video -> dict(segments (K, 2),
            scores (K,), labels (K,))`` per method ``M``; videos outside
            ``ground_truth`` are ignored.
        num_classes (int): ``C``.
        tiou_thresholds (Sequence[float]): ``T`` thresholds.
        num_samples (int): ``S`` draws.
        seed (int): seed of the draws (the same draws for every method).

    Returns:
        dict: ``full_mAP (M, T)`` and ``full_average_mAP (M,)`` on the test
        set as it is, ``full_ap (M, C, T)`` (NaN for classes without ground
        truth), ``num_gt (C,)``, ``mAP (S, M, T)`` and ``average_mAP (S, M)``
        on the draws (mean over the classes with ground truth in the draw).
    """
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    video_ids = {v: i for i, v in enumerate(ground_truth)}
    num_videos = len(video_ids)
    if num_videos == 0:
        raise ValueError('no ground-truth videos to resample')
    gt = gather_videos(ground_truth, ('segments', 'labels'), 'ground truth',
                       video_ids)
    gt_labels = gt['labels'].astype(np.int64)
    sides = []
    for preds in predictions:
        pr = gather_videos({v: p for v, p in preds.items() if v in video_ids},
                           ('segments', 'scores', 'labels'), 'predictions',
                           video_ids)
        scores = pr['scores'].astype(np.float64)
        labels = pr['labels'].astype(np.int64)
        matched, _ = match_detections(gt['videos'], gt['segments'], gt_labels,
                                      pr['videos'], pr['segments'], scores,
                                      labels, thr)
        sides.append((matched, scores, labels, pr['videos']))

    def evaluate(counts):
        gt_rep = np.repeat(gt_labels, counts[gt['videos']])
        aps = []
        for matched, scores, labels, videos in sides:
            rep = counts[videos]
            aps.append(_per_class_ap(np.repeat(matched, rep, axis=0),
                                     np.repeat(scores, rep),
                                     np.repeat(labels, rep), gt_rep,
                                     num_classes)[0])
        return aps

    full_ap = evaluate(np.ones(num_videos, dtype=np.int64))
    full_map = np.stack([_mean_over_classes(a) for a in full_ap])
    rng = np.random.default_rng(seed)
    maps = np.empty((num_samples, len(sides), thr.size))
    for s in range(num_samples):
        counts = np.bincount(rng.integers(0, num_videos, num_videos),
                             minlength=num_videos)
        maps[s] = [_mean_over_classes(a) for a in evaluate(counts)]
    return dict(full_mAP=full_map, full_average_mAP=full_map.mean(axis=1),
                full_ap=np.stack(full_ap),
                num_gt=np.bincount(gt_labels, minlength=num_classes),
                mAP=maps, average_mAP=maps.mean(axis=2))


def percentile_interval(values: np.ndarray, level: float = 0.95
                        ) -> np.ndarray:
    """Percentile bootstrap interval ``(2,)`` of ``values (S,)`` at
    ``level`` (e.g. the 2.5th and 97.5th percentiles for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    tail = (1 - level) / 2 * 100
    return np.percentile(np.asarray(values), [tail, 100 - tail])
