"""Vectorised ActivityNet-style temporal detection mAP (numpy).

Numbers are those of ``mmaction.evaluation.functional.
average_precision_at_temporal_iou`` (the ActivityNet / THUMOS detection
protocol) on the same inputs. Written by hand because that reference walks
every prediction, every threshold and every ground truth in Python (about a
second for 200 videos x 200 predictions; ``tools/analysis/
benchmark_metric.py`` compares both). Here:

* tIoU is computed only for (prediction, ground truth) pairs of the same
  video and class whose intervals may overlap (binary search on sorted
  starts);
* the greedy matching, for all thresholds at once, handles the r-th best
  candidate prediction of every (video, class) group in one vectorised step
  (groups never compete), so its Python loop runs ``max candidates per
  (video, class)`` times;
* AP visits only the true positives (see :func:`_per_class_ap`).

Protocol (identical to the reference):

* per class, predictions are taken by decreasing score (equal scores: input
  order; the reference's order among equal scores is that of numpy's
  unstable ``argsort``, so exact agreement needs unique scores);
* a prediction matches, at threshold ``t``, the not-yet-matched ground truth
  of its video and class with the highest tIoU, if that tIoU is ``>= t``
  (tIoU rounded to float32 as the reference does; among equal tIoU the later
  ground truth wins, as with the reference's reversed ``argsort``);
  otherwise it is a false positive;
* AP is the VOC-2011 interpolated area under the precision / recall curve
  (``interpolated_precision_recall``); a class with predictions and no
  ground truth has an undefined AP (NaN here) and is left out of the mean; a
  class with ground truth and no predictions has AP 0.

Additional breakdowns (not in the reference):

* **mAP by instance length** (DETAD's convention, Alwassel et al., ECCV
  2018): for the bucket ``lo <= length < hi`` (seconds) the matching is the
  one of the full evaluation; the ground truth outside the bucket is
  removed, and a prediction matched to a removed ground truth is ignored
  (neither TP nor FP); unmatched predictions stay false positives in every
  bucket. AP per class uses only the classes that have ground truth in the
  bucket.
* **recall@k**: the fraction of ground-truth instances that any of the top-k
  predictions of their video (by score, all classes) covers with the right
  class and tIoU ``>= t`` (no one-to-one matching), per threshold; ``k`` is a
  number of predictions per video.
"""
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .detection_matching import (DEFAULT_TIOU_THRESHOLDS, _as_segments,
                                 _segment_starts, _video_ranks,
                                 match_detections)

# the matching lives in detection_matching.py; its public names stay
# importable from here
__all__ = ['DEFAULT_TIOU_THRESHOLDS', 'DEFAULT_LENGTH_BUCKETS',
           'DEFAULT_RECALL_TOPK', 'length_bucket_name', 'match_detections',
           'detection_average_precision', 'evaluate_detection']

DEFAULT_LENGTH_BUCKETS = ((0, 2), (2, 5), (5, 10), (10, math.inf))
DEFAULT_RECALL_TOPK = (1, 5, 10, 50, 100)


def length_bucket_name(lo: float, hi: float) -> str:
    """``(0, 2) -> '<2s'``, ``(2, 5) -> '2-5s'``, ``(10, inf) -> '>10s'``."""
    if lo <= 0 and math.isinf(hi):
        return 'all'
    if lo <= 0:
        return f'<{hi:g}s'
    if math.isinf(hi):
        return f'>{lo:g}s'
    return f'{lo:g}-{hi:g}s'


def _mean_over_classes(ap: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the rows that are not NaN; NaN if none."""
    valid = ~np.isnan(ap[:, 0]) if ap.size else np.zeros(0, bool)
    if not valid.any():
        return np.full(ap.shape[1], np.nan)
    return ap[valid].mean(axis=0)


def _segmented_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at every change of the sorted
    ``keys``."""
    cum = np.cumsum(values, dtype=np.float64)
    if cum.size == 0:
        return cum
    starts, sizes = _segment_starts(keys)
    base = np.where(starts > 0, cum[starts - 1], 0.0)
    return cum - np.repeat(base, sizes)


def _per_class_ap(matched: np.ndarray,
                  pred_scores: np.ndarray,
                  pred_labels: np.ndarray,
                  gt_labels: np.ndarray,
                  num_classes: int,
                  gt_subsets: Sequence[Optional[np.ndarray]] = (None, )
                  ) -> List[np.ndarray]:
    """VOC-2011 interpolated AP ``(C, T)`` from a matching, once per
    ground-truth subset.

    ``None`` is the whole ground truth; a bool mask ``(G,)`` restricts it, and
    predictions matched to ground truth outside it are ignored.

    Only the true positives are visited: recall steps up by ``1 / n_pos`` at
    each of them and stays flat elsewhere, and between two of them precision
    only falls, so the interpolated AP (the reference's sum of recall steps
    times the running maximum of precision from the right) is
    ``sum over TPs of max(precision at this and later TPs) / n_pos``, with
    precision at the k-th prediction of its class (0-based, by decreasing
    score) ``#TP so far / (k + 1 - #ignored so far)``.
    """
    num_t = matched.shape[1]
    num_pred = len(pred_scores)
    # position of every prediction in its class ranking
    order = np.lexsort((-pred_scores, pred_labels))
    bounds = np.searchsorted(pred_labels[order], np.arange(num_classes + 1))
    pos_in_class = np.empty(num_pred, dtype=np.int64)
    pos_in_class[order] = np.arange(num_pred) - np.repeat(
        bounds[:-1], np.diff(bounds))
    # matched (prediction, threshold) entries sorted by (t, class, position)
    p_idx, t_idx = np.nonzero(matched >= 0)
    gt_idx = matched[p_idx, t_idx]
    cls = pred_labels[p_idx]
    q = pos_in_class[p_idx]
    srt = np.lexsort((q, cls, t_idx))
    gt_idx, q = gt_idx[srt], q[srt]
    key = (t_idx * num_classes + cls)[srt]

    out = []
    for subset in gt_subsets:
        if subset is None:
            num_pos = np.bincount(gt_labels, minlength=num_classes)
            inside = np.ones(len(gt_idx), dtype=bool)
        else:
            num_pos = np.bincount(gt_labels[subset], minlength=num_classes)
            inside = subset[gt_idx]
        n_tp = _segmented_cumsum(inside, key)
        n_ignored = _segmented_cumsum(~inside, key)
        k_tp, q_tp = key[inside], q[inside]
        precision = n_tp[inside] / (q_tp + 1 - n_ignored[inside])
        # running maximum from the right within each (t, class): offsets
        # larger for smaller keys keep later maxima from leaking
        offset = 2.0 * (num_t * num_classes - k_tp)
        run_max = np.maximum.accumulate((precision + offset)[::-1])[::-1] \
            - offset
        sums = np.bincount(k_tp, weights=run_max,
                           minlength=num_t * num_classes).reshape(
                               num_t, num_classes).T
        with np.errstate(divide='ignore', invalid='ignore'):
            ap = sums / num_pos[:, None]
        ap[num_pos == 0] = np.nan
        out.append(ap)
    return out


def gather_videos(source: Mapping[str, Mapping], fields: Sequence[str],
                  what: str, video_ids: Mapping[str, int]
                  ) -> Dict[str, np.ndarray]:
    """Concatenate the per-video arrays ``fields`` of ``source`` (``video ->
    dict``) into flat arrays plus ``videos``, the id of each row's video in
    ``video_ids``; errors name ``what`` and the video."""
    cols = {f: [] for f in fields}
    vids = []
    for v, item in source.items():
        try:
            n = None
            for f in fields:
                arr = (_as_segments(item[f], f'{f} of video {v!r}')
                       if f == 'segments' else np.asarray(
                           item[f]).reshape(-1))
                if n is not None and len(arr) != n:
                    raise ValueError(
                        f'{what} of video {v!r}: {fields} have '
                        'different lengths')
                n = len(arr)
                cols[f].append(arr)
        except KeyError as e:
            raise KeyError(f'{what} of video {v!r} lacks {e}') from None
        vids.append(np.full(n, video_ids[v], dtype=np.int64))
    out = {
        f: (np.concatenate(c) if c else
            (np.zeros((0, 2)) if f == 'segments' else np.zeros(0)))
        for f, c in cols.items()
    }
    out['videos'] = (np.concatenate(vids) if vids else
                     np.zeros(0, dtype=np.int64))
    return out


def detection_average_precision(
        gt_videos: np.ndarray, gt_segments: np.ndarray, gt_labels: np.ndarray,
        pred_videos: np.ndarray, pred_segments: np.ndarray,
        pred_scores: np.ndarray, pred_labels: np.ndarray, num_classes: int,
        tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS
) -> np.ndarray:
    """Per-class AP of flat arrays (see :func:`match_detections`).

    Returns:
        np.ndarray: ``(num_classes, T)``; NaN for classes without ground
        truth.
    """
    gt_segments = _as_segments(gt_segments, 'gt_segments')
    pred_segments = _as_segments(pred_segments, 'pred_segments')
    pred_scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    pred_labels = np.asarray(pred_labels, dtype=np.int64).reshape(-1)
    gt_labels = np.asarray(gt_labels, dtype=np.int64).reshape(-1)
    matched, _ = match_detections(gt_videos, gt_segments, gt_labels,
                                  pred_videos, pred_segments, pred_scores,
                                  pred_labels, tiou_thresholds)
    return _per_class_ap(matched, pred_scores, pred_labels, gt_labels,
                         num_classes)[0]


def evaluate_detection(
        ground_truth: Mapping[str, Mapping],
        predictions: Mapping[str, Mapping],
        num_classes: int,
        tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
        length_buckets: Optional[Sequence[Tuple[float, float]]] = (
            DEFAULT_LENGTH_BUCKETS),
        recall_topk: Optional[Sequence[int]] = DEFAULT_RECALL_TOPK) -> Dict:
    """Full detection evaluation of per-video ground truth and predictions.

    Args:
        ground_truth (Mapping[str, Mapping]): ``video -> dict(segments
            (N, 2) seconds, labels (N,))``; every evaluated video (also those
            without instances, so that their predictions count).
        predictions (Mapping[str, Mapping]): ``video -> dict(segments (K, 2),
            scores (K,), labels (K,))``. A ground-truth video absent here has
            no detections; a video absent from ``ground_truth`` has only
            false positives.
        num_classes (int): number of classes ``C`` (labels in ``[0, C)``).
        tiou_thresholds (Sequence[float]): ``T`` thresholds.
        length_buckets (Sequence[tuple], optional): ``(lo, hi)`` in seconds,
            ``lo <= length < hi``.
        recall_topk (Sequence[int], optional): numbers of predictions per
            video for recall@k.

    Returns:
        dict: ``tiou_thresholds (T,)``, ``num_gt (C,)``, ``ap (C, T)`` (NaN
        for classes without ground truth), ``mAP (T,)`` and ``average_mAP``
        (mean over classes with ground truth), ``length_buckets``,
        ``bucket_names``, ``bucket_num_gt (B,)``, ``bucket_ap (B, C, T)``,
        ``bucket_mAP (B, T)``, ``recall_topk``, ``recall (K, T)``,
        ``num_videos``, ``num_predictions``.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0 or np.any((thr < 0) | (thr > 1)):
        raise ValueError(f'tIoU thresholds must be in [0, 1], got {thr}')
    video_ids = {v: i for i, v in enumerate(ground_truth)}
    for v in predictions:
        if v not in video_ids:
            video_ids[v] = len(video_ids)

    gt = gather_videos(ground_truth, ('segments', 'labels'), 'ground truth',
                       video_ids)
    pr = gather_videos(predictions, ('segments', 'scores', 'labels'),
                       'predictions', video_ids)
    gt_labels = gt['labels'].astype(np.int64)
    pred_labels = pr['labels'].astype(np.int64)
    pred_scores = pr['scores'].astype(np.float64)
    for name, lab in (('ground-truth', gt_labels), ('predicted', pred_labels)):
        if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
            raise ValueError(f'{name} labels must be in [0, {num_classes}), '
                             f'got {lab.min()}..{lab.max()}')

    buckets = [tuple(map(float, b)) for b in (length_buckets or ())]
    for lo, hi in buckets:
        if not lo < hi:
            raise ValueError(f'length bucket ({lo}, {hi}) is empty')
    topk = [int(k) for k in (recall_topk or ())]
    if any(k < 1 for k in topk):
        raise ValueError(f'recall_topk must be positive, got {topk}')

    ranks = _video_ranks(pr['videos'], pred_scores)
    matched, best_rank = match_detections(
        gt['videos'], gt['segments'], gt_labels, pr['videos'],
        pr['segments'], pred_scores, pred_labels, thr, recall_ranks=ranks)

    lengths = gt['segments'][:, 1] - gt['segments'][:, 0]
    inside = [(lengths >= lo) & (lengths < hi) for lo, hi in buckets]
    ap, *bucket_ap = _per_class_ap(matched, pred_scores, pred_labels,
                                   gt_labels, num_classes, [None] + inside)
    mean_ap = _mean_over_classes(ap)
    result = dict(
        tiou_thresholds=thr,
        num_gt=np.bincount(gt_labels, minlength=num_classes),
        ap=ap,
        mAP=mean_ap,
        average_mAP=float(mean_ap.mean()),
        num_videos=len(ground_truth),
        num_predictions=int(len(pred_scores)),
        length_buckets=buckets,
        bucket_names=[length_bucket_name(lo, hi) for lo, hi in buckets],
        bucket_num_gt=np.asarray([m.sum() for m in inside], dtype=np.int64),
        bucket_ap=(np.stack(bucket_ap) if bucket_ap else np.zeros(
            (0, num_classes, thr.size))),
        bucket_mAP=(np.stack([_mean_over_classes(a) for a in bucket_ap])
                    if bucket_ap else np.zeros((0, thr.size))))

    if len(gt_labels):
        recall = (np.stack([(best_rank < k).mean(axis=0) for k in topk])
                  if topk else np.zeros((0, thr.size)))
    else:
        recall = np.full((len(topk), thr.size), np.nan)
    result.update(recall_topk=tuple(topk), recall=recall)
    return result
