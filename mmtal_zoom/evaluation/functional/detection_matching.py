"""Greedy matching of temporal detections to ground truth, vectorised over
(video, class) groups and all tIoU thresholds at once (numpy); the protocol
is described in :mod:`mmtal_zoom.evaluation.functional.detection_map`, which
computes AP, mAP by length and recall@k from this matching."""
from typing import Optional, Sequence, Tuple

import numpy as np

DEFAULT_TIOU_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def _as_segments(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f'{name} must have shape (N, 2), got {arr.shape}')
    return arr


def _tiou_float32(p_s: np.ndarray, p_e: np.ndarray, g_s: np.ndarray,
                  g_e: np.ndarray) -> np.ndarray:
    """tIoU of paired segments ``[p_s, p_e]`` / ``[g_s, g_e]`` (all ``(n,)``)
    as ``mmaction``'s ``pairwise_temporal_iou`` computes it (float64 maths,
    same operation order, stored as float32), so that threshold decisions
    agree bit for bit.

    Returns:
        np.ndarray: ``(n,)`` float32.
    """
    inter = (np.minimum(p_e, g_e) - np.maximum(p_s, g_s)).clip(0)
    union = (g_e - g_s) + (p_e - p_s) - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        return (inter / union).astype(np.float32)


def _segment_starts(sorted_keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Start and size of the runs of equal values of a sorted array."""
    starts = np.r_[0, np.nonzero(np.diff(sorted_keys))[0] + 1]
    sizes = np.diff(np.r_[starts, len(sorted_keys)])
    return starts, sizes


def _candidate_pairs(gt_key: np.ndarray, gt_segments: np.ndarray,
                     pred_key: np.ndarray, pred_segments: np.ndarray,
                     min_tiou: float) -> Tuple[np.ndarray, np.ndarray]:
    """(prediction, ground truth) index pairs of the same (video, class)
    key; when ``min_tiou > 0`` only those that may overlap.

    The ground truth is sorted by (key, start); a ground truth overlapping
    ``[p_s, p_e]`` starts in ``(p_s - longest ground truth of the group,
    p_e)``, a window found by binary search on ``key * span + start`` (span
    larger than any time range, plus a margin: the window is a superset, the
    exact tIoU decides afterwards). With ``min_tiou == 0`` every pair of the
    group counts (tIoU 0 reaches the threshold).
    """
    gt_order = np.lexsort((gt_segments[:, 0], gt_key))
    key_sorted = gt_key[gt_order]
    groups, first, counts = np.unique(key_sorted, return_index=True,
                                      return_counts=True)
    max_key = int(max(groups[-1], pred_key.max(initial=0)))
    if max_key < 4 * (len(pred_key) + len(gt_key)) + 1024:
        table = np.full(max_key + 1, -1, dtype=np.int64)  # direct lookup
        table[groups] = np.arange(len(groups))
        in_range = (pred_key >= 0) & (pred_key <= max_key)
        pos = np.where(in_range, table[np.clip(pred_key, 0, max_key)], -1)
        cand = np.nonzero(pos >= 0)[0]
    else:
        pos = np.minimum(np.searchsorted(groups, pred_key), len(groups) - 1)
        cand = np.nonzero(groups[pos] == pred_key)[0]
    cand_group = pos[cand]
    lo, hi = first[cand_group], first[cand_group] + counts[cand_group]
    if min_tiou > 0 and cand.size:
        starts_sorted = gt_segments[gt_order, 0]
        lengths = (gt_segments[gt_order, 1] - starts_sorted).clip(0)
        max_len = np.maximum.reduceat(lengths, first)
        p_s, p_e = pred_segments[cand, 0], pred_segments[cand, 1]
        t_min = min(starts_sorted.min(), p_s.min())
        t_max = max(gt_segments[:, 1].max(), p_e.max())
        if np.isfinite(t_min) and np.isfinite(t_max):
            span = (t_max - t_min) + max_len.max() + 2.0
            margin = 1e-6 * span + 1e-6
            group_sorted = np.repeat(np.arange(len(groups)), counts)
            ks = group_sorted * span + (starts_sorted - t_min)
            base = cand_group * span - t_min
            lo = np.maximum(
                lo,
                np.searchsorted(ks, base + p_s - max_len[cand_group] - margin,
                                side='left'))
            hi = np.minimum(
                hi, np.searchsorted(ks, base + p_e + margin, side='right'))
            hi = np.maximum(hi, lo)
    n_pairs = hi - lo
    pair_pred = np.repeat(cand, n_pairs)
    offsets = np.arange(n_pairs.sum()) - np.repeat(
        np.cumsum(n_pairs) - n_pairs, n_pairs)
    pair_gt = gt_order[np.repeat(lo, n_pairs) + offsets]
    return pair_pred, pair_gt


def match_detections(
        gt_videos: np.ndarray,
        gt_segments: np.ndarray,
        gt_labels: np.ndarray,
        pred_videos: np.ndarray,
        pred_segments: np.ndarray,
        pred_scores: np.ndarray,
        pred_labels: np.ndarray,
        tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
        recall_ranks: Optional[np.ndarray] = None
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Greedy matching of predictions to ground truth, all thresholds at once.

    The tIoU is computed only for (prediction, ground truth) pairs of the
    same video and class that may overlap; only the predictions that reach
    the lowest threshold with some ground truth take part in the greedy
    matching, which processes the r-th best of them in every (video, class)
    group in one vectorised step (ground truth of different groups never
    compete).

    Args:
        gt_videos (np.ndarray): ``(G,)`` int video ids.
        gt_segments (np.ndarray): ``(G, 2)``.
        gt_labels (np.ndarray): ``(G,)`` int.
        pred_videos (np.ndarray): ``(P,)`` int video ids (ids without ground
            truth are allowed: all their predictions are false positives).
        pred_segments (np.ndarray): ``(P, 2)``.
        pred_scores (np.ndarray): ``(P,)``.
        pred_labels (np.ndarray): ``(P,)`` int.
        tiou_thresholds (Sequence[float]): ``T`` thresholds.
        recall_ranks (np.ndarray, optional): ``(P,)`` rank of every
            prediction within its video (0 = best); when given, also returns
            for every ground truth and threshold the best rank of a
            prediction of its class covering it (for recall@k).

    Returns:
        tuple: ``matched`` ``(P, T)`` int64, the index of the ground truth
        matched by each prediction at each threshold or -1 (false positive);
        and ``best_rank`` ``(G, T)`` float (``inf`` when never covered) or
        ``None``.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    num_t = thr.size
    num_pred, num_gt = len(pred_scores), len(gt_labels)
    matched = np.full((num_pred, num_t), -1, dtype=np.int64)
    best_rank = (np.full((num_gt, num_t), np.inf)
                 if recall_ranks is not None else None)
    if num_pred == 0 or num_gt == 0:
        return matched, best_rank

    gt_labels = np.asarray(gt_labels, dtype=np.int64)
    gt_segments = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    pred_labels = np.asarray(pred_labels, dtype=np.int64)
    pred_scores = np.asarray(pred_scores, dtype=np.float64)
    pred_segments = np.asarray(pred_segments, dtype=np.float64).reshape(-1, 2)
    num_labels = int(max(gt_labels.max(), pred_labels.max())) + 1
    gt_key = np.asarray(gt_videos, dtype=np.int64) * num_labels + gt_labels
    pred_key = (np.asarray(pred_videos, dtype=np.int64) * num_labels +
                pred_labels)

    pair_pred, pair_gt = _candidate_pairs(gt_key, gt_segments, pred_key,
                                          pred_segments, float(thr.min()))
    # 1-D takes: much faster than fancy-indexing rows of (n, 2) arrays
    iou = _tiou_float32(
        np.ascontiguousarray(pred_segments[:, 0]).take(pair_pred),
        np.ascontiguousarray(pred_segments[:, 1]).take(pair_pred),
        np.ascontiguousarray(gt_segments[:, 0]).take(pair_gt),
        np.ascontiguousarray(gt_segments[:, 1]).take(pair_gt))
    keep = iou >= thr.min()  # the other pairs can never match
    pair_pred, pair_gt, iou = pair_pred[keep], pair_gt[keep], iou[keep]
    if iou.size == 0:
        return matched, best_rank

    if best_rank is not None:
        pair_rank = np.asarray(recall_ranks, dtype=np.float64)[pair_pred]
        for t, thr_t in enumerate(thr):
            m = iou >= thr_t
            np.minimum.at(best_rank[:, t], pair_gt[m], pair_rank[m])

    # candidates of every participating prediction, by ground-truth index:
    # (n, W) tables padded with gt -1 / tIoU -1
    srt = np.lexsort((pair_gt, pair_pred))
    pair_pred, pair_gt, iou = pair_pred[srt], pair_gt[srt], iou[srt]
    starts, sizes = _segment_starts(pair_pred)
    part = pair_pred[starts]
    width = int(sizes.max())
    col = np.arange(len(pair_pred)) - np.repeat(starts, sizes)
    row = np.repeat(np.arange(len(part)), sizes)
    cand_gt = np.full((len(part), width), -1, dtype=np.int64)
    cand_iou = np.full((len(part), width), np.float32(-1))
    cand_gt[row, col] = pair_gt
    cand_iou[row, col] = iou

    # rank within (video, label) by decreasing score, ties by input order
    p_key = pred_key[part]
    order = np.lexsort((-pred_scores[part], p_key))
    g_starts, g_sizes = _segment_starts(p_key[order])
    rank = np.arange(len(order)) - np.repeat(g_starts, g_sizes)
    by_rank = order[np.argsort(rank, kind='stable')]
    rank_bounds = np.r_[0, np.cumsum(np.bincount(rank))]

    locked = np.zeros((num_gt, num_t), dtype=bool)
    for r in range(len(rank_bounds) - 1):
        sel = by_rank[rank_bounds[r]:rank_bounds[r + 1]]  # one per group
        gi, io = cand_gt[sel], cand_iou[sel]  # (n, W)
        ok = ((io[:, :, None] >= thr) & ~locked[gi]).transpose(0, 2, 1)
        val = np.where(ok, io[:, None, :], np.float32(-1))  # (n, T, W)
        # highest tIoU, the latest ground truth among equals (as the
        # reference's reversed argsort)
        j = width - 1 - np.argmax(val[..., ::-1], axis=-1)  # (n, T)
        hit = val.max(axis=-1) >= 0  # a matchable tIoU is >= 0, padding -1
        gt_j = gi[np.arange(len(sel))[:, None], j]  # (n, T)
        locked[gt_j[hit], np.nonzero(hit)[1]] = True
        matched[part[sel]] = np.where(hit, gt_j, -1)
    return matched, best_rank


def _video_ranks(videos: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Rank of every prediction within its video by decreasing score."""
    order = np.lexsort((-scores, videos))
    starts, sizes = _segment_starts(videos[order])
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    return ranks
