"""Temporal segment operations: tIoU, NMS and Soft-NMS, in pure torch.

Every function runs on the device of its inputs and returns tensors there.

Pure torch on purpose: the peers' C++ NMS extensions (ActionFormer's
``nms_1d_cpu``, and the CUDA ops of mmcv that TAL codebases build on) failing
to build is one of their users' most common complaints. ``torchvision.ops``
only has 2-D boxes and no Soft-NMS, and mmcv-lite ships no compiled ops, so
the 1-D versions are written here.

Semantics follow ActionFormer's ``libs/utils/nms.py`` (``batched_nms`` /
``SoftNMSop``), re-implemented vectorised (no copied code):

* the detection with the highest (current) score is kept; every remaining
  detection of the same class is re-weighted by its tIoU ``o`` with the kept
  one: hard NMS ``0 if o >= iou_threshold else 1``; linear Soft-NMS
  ``1 - o if o >= iou_threshold else 1``; Gaussian Soft-NMS
  ``exp(-o ** 2 / sigma)`` (Bodla et al., 2017, Eq. 3; ``iou_threshold`` is
  not used);
* a detection whose (re-weighted) score falls below ``min_score`` is dropped;
* the result is sorted by the final score, at most ``max_num`` detections.

ActionFormer's optional "segment voting" (class-agnostic only) is not
provided.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

NMS_METHODS = ('hard', 'linear', 'gaussian')
# steps between two "anything left?" checks (a host synchronisation on GPU)
_SYNC_EVERY = {'cpu': 1}


def batched_segment_iou(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Pairwise temporal IoU of two batches of segments.

    Args:
        a (Tensor): ``(B, N, 2)`` segments ``[start, end]``.
        b (Tensor): ``(B, M, 2)`` segments.
        eps (float): lower bound of the union (two empty segments at the same
            place have IoU 0, not NaN).

    Returns:
        Tensor: ``(B, N, M)`` tIoU in ``[0, 1]``.
    """
    if a.shape[-1] != 2 or b.shape[-1] != 2 or a.dim() != 3 or b.dim() != 3:
        raise ValueError('batched_segment_iou expects (B, N, 2) and (B, M, 2) '
                         f'segments, got {tuple(a.shape)} and '
                         f'{tuple(b.shape)}')
    a_s, a_e = a[..., 0, None], a[..., 1, None]  # (B, N, 1)
    b_s, b_e = b[..., None, :, 0], b[..., None, :, 1]  # (B, 1, M)
    inter = (torch.minimum(a_e, b_e) - torch.maximum(a_s, b_s)).clamp(min=0)
    union = (a_e - a_s).clamp(min=0) + (b_e - b_s).clamp(min=0) - inter
    return inter / union.clamp(min=eps)


def segment_iou(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Pairwise temporal IoU.

    Args:
        a (Tensor): ``(N, 2)`` segments ``[start, end]``.
        b (Tensor): ``(M, 2)`` segments.

    Returns:
        Tensor: ``(N, M)`` tIoU.
    """
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError('segment_iou expects (N, 2) and (M, 2) segments, got '
                         f'{tuple(a.shape)} and {tuple(b.shape)}')
    return batched_segment_iou(a[None], b[None], eps=eps)[0]


def soft_nms(segments: Tensor,
             scores: Tensor,
             labels: Optional[Tensor] = None,
             method: str = 'gaussian',
             iou_threshold: float = 0.1,
             sigma: float = 0.5,
             min_score: float = 0.001,
             max_num: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """(Soft-)NMS of 1-D segments; class-aware when ``labels`` is given.

    One loop step keeps one detection (the highest current score among the
    live ones, over all classes) and re-weights the live detections of its
    class in a single vectorised operation, so the number of steps is the
    number of kept detections (at most ``max_num``). Since scores only ever
    decrease, keeping the global maximum first returns, class by class, the
    same detections as running the per-class loop of ActionFormer class after
    class, already merged and sorted by final score. Ties are broken towards
    the lower index. No host synchronisation per step on GPU except an
    early-exit check every 16 steps.

    Args:
        segments (Tensor): ``(K, 2)`` segments (any unit).
        scores (Tensor): ``(K,)`` scores.
        labels (Tensor, optional): ``(K,)`` class ids; detections of
            different classes never suppress each other. ``None``:
            class-agnostic.
        method (str): ``'hard'``, ``'linear'`` or ``'gaussian'``.
        iou_threshold (float): tIoU from which a detection is suppressed
            (``'hard'``) or linearly decayed (``'linear'``).
        sigma (float): Gaussian width (``'gaussian'``).
        min_score (float): detections whose (decayed) score is below it are
            dropped, also before the first step (ActionFormer keeps its first
            pick even below it; that degenerate case differs). ``None`` or
            ``<= 0``: nothing is dropped for its score.
        max_num (int, optional): keep at most this many (``None`` or ``<= 0``:
            no limit).

    Returns:
        tuple[Tensor, Tensor]: ``keep`` ``(R,)`` long indices into the inputs,
        ordered by decreasing final score, and the final (decayed) scores
        ``(R,)``.
    """
    if method not in NMS_METHODS:
        raise ValueError(f'NMS method must be one of {NMS_METHODS}, '
                         f'got {method!r}')
    if segments.dim() != 2 or segments.shape[-1] != 2:
        raise ValueError(
            f'segments must be (K, 2), got {tuple(segments.shape)}')
    num = scores.numel()
    if scores.shape != (num, ) or segments.shape[0] != num or (
            labels is not None and labels.shape != (num, )):
        raise ValueError(
            f'segments {tuple(segments.shape)}, scores {tuple(scores.shape)}'
            + ('' if labels is None else f', labels {tuple(labels.shape)}')
            + ' must describe the same K detections')
    if method == 'gaussian' and sigma <= 0:
        raise ValueError(f'Gaussian Soft-NMS needs sigma > 0, got {sigma}')
    device = scores.device
    steps = num if max_num is None or max_num <= 0 else min(num, int(max_num))
    if steps == 0:
        return (torch.zeros(0, dtype=torch.long, device=device),
                scores.new_zeros(0))

    work_dtype = torch.promote_types(scores.dtype, torch.float32)
    cur = scores.to(work_dtype).clone()
    segs = segments.to(work_dtype)
    starts, ends = segs[:, 0], segs[:, 1]
    lengths = (ends - starts).clamp(min=0)
    min_score = float(min_score) if min_score is not None else None
    alive = (cur >= min_score if min_score is not None and min_score > 0 else
             torch.ones(num, dtype=torch.bool, device=device))
    neg_inf = torch.tensor(float('-inf'), dtype=work_dtype, device=device)
    keep = torch.empty(steps, dtype=torch.long, device=device)
    kept_scores = torch.empty(steps, dtype=work_dtype, device=device)
    check_every = _SYNC_EVERY.get(device.type, 16)

    n_done = 0
    for step in range(steps):
        best, idx = torch.where(alive, cur, neg_inf).max(dim=0)
        keep[step] = idx
        kept_scores[step] = best
        n_done = step + 1
        alive[idx] = False
        # tIoU of the kept detection with every detection, (K,)
        inter = (torch.minimum(ends, ends[idx]) -
                 torch.maximum(starts, starts[idx])).clamp(min=0)
        iou = inter / (lengths + lengths[idx] - inter).clamp(min=1e-8)
        if method == 'gaussian':
            weight = torch.exp(-(iou * iou) / sigma)
        elif method == 'linear':
            weight = torch.where(iou >= iou_threshold, 1 - iou,
                                 torch.ones_like(iou))
        else:
            weight = (iou < iou_threshold).to(work_dtype)
        if labels is not None:
            weight = torch.where(labels == labels[idx], weight,
                                 torch.ones_like(weight))
        cur = cur * weight
        if method == 'hard':
            alive &= weight > 0
        if min_score is not None and min_score > 0:
            alive &= cur >= min_score
        if (step + 1) % check_every == 0 and not bool(alive.any()):
            break
    keep, kept_scores = keep[:n_done], kept_scores[:n_done]
    # the last steps may have found nothing alive (GPU: checked every 16)
    valid = torch.isfinite(kept_scores)
    return keep[valid], kept_scores[valid].to(scores.dtype)


def segment_nms(segments: Tensor,
                scores: Tensor,
                iou_threshold: float,
                labels: Optional[Tensor] = None,
                max_num: Optional[int] = None) -> Tensor:
    """Greedy (hard) NMS of 1-D segments.

    Args:
        segments (Tensor): ``(K, 2)``.
        scores (Tensor): ``(K,)``.
        iou_threshold (float): a detection with tIoU ``>= iou_threshold``
            with a kept, higher-scoring one (of the same class when
            ``labels`` is given) is removed.
        labels (Tensor, optional): ``(K,)`` class ids (class-aware NMS).
        max_num (int, optional): keep at most this many.

    Returns:
        Tensor: ``(R,)`` long indices of the kept detections, by decreasing
        score.
    """
    keep, _ = soft_nms(segments, scores, labels=labels, method='hard',
                       iou_threshold=iou_threshold, min_score=None,
                       max_num=max_num)
    return keep


def multiclass_segment_nms(segments: Tensor, scores: Tensor, labels: Tensor,
                           nms_cfg: dict) -> Tuple[Tensor, Tensor, Tensor]:
    """The NMS every head runs on one video's candidates.

    Class-aware by default: detections of different classes never suppress
    each other (done with a same-label mask inside one loop, which is
    exact, rather than the coordinate-offset trick, whose large offsets lose
    float precision).

    Args:
        segments (Tensor): ``(K, 2)``.
        scores (Tensor): ``(K,)``.
        labels (Tensor): ``(K,)`` long.
        nms_cfg (dict): ``method`` (``'hard' | 'linear' | 'gaussian'``,
            default ``'gaussian'``), ``iou_threshold`` (default 0.1),
            ``sigma`` (0.5), ``min_score`` (0.001), ``max_num`` (200; ``None``
            or ``<= 0``: no limit), ``class_agnostic`` (False).

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``segments`` ``(R, 2)``, ``scores``
        ``(R,)`` (decayed by Soft-NMS), ``labels`` ``(R,)``, sorted by
        decreasing score.
    """
    known = {'method', 'iou_threshold', 'sigma', 'min_score', 'max_num',
             'class_agnostic'}
    unknown = set(nms_cfg) - known
    if unknown:
        raise KeyError(f'unknown nms_cfg keys {sorted(unknown)}; expected '
                       f'some of {sorted(known)}')
    method = nms_cfg.get('method', 'gaussian')
    keep, new_scores = soft_nms(
        segments,
        scores,
        labels=None if nms_cfg.get('class_agnostic', False) else labels,
        method=method,
        iou_threshold=nms_cfg.get('iou_threshold', 0.1),
        sigma=nms_cfg.get('sigma', 0.5),
        min_score=nms_cfg.get('min_score', 0.001),
        max_num=nms_cfg.get('max_num', 200))
    return segments[keep], new_scores, labels[keep]
