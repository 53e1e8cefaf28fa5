"""RCL's confidence losses (RCL, Eq. 5), BMN's balanced losses on tIoU.

Wang et al., "RCL: Recurrent Continuous Localization for Temporal Action
Detection", CVPR 2022, train the two tIoU confidences ``p^1`` / ``p^2`` of
a segment query as BMN does its proposal map: a class-balanced binary
cross-entropy on ``1{tIoU > tau}`` and a bin-balanced MSE on the tIoU.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor


def balanced_iou_mse(pred: Tensor, target: Tensor,
                     high: float = 0.7, low: float = 0.3) -> Tensor:
    """BMN's regression loss on tIoU (MMAction2 ``BMNLoss.pem_reg_loss``):
    MSE on all queries with tIoU > ``high`` plus a random subset of those in
    ``(low, high]`` and in ``(0, low]``, each subset as large as the first
    (in expectation).

    Re-written rather than called because the MMAction2 function divides by
    the number of weighted entries without a guard (NaN when no query has a
    tIoU above ``high``, which happens with grid-only sampling and tiny
    actions) and, when a bin is empty, selects padding entries.

    Args:
        pred (Tensor): ``(N,)`` predicted tIoU in ``[0, 1]``.
        target (Tensor): ``(N,)`` tIoU.

    Returns:
        Tensor: scalar.
    """
    h_mask = target > high
    m_mask = (target <= high) & (target > low)
    l_mask = (target <= low) & (target > 0)
    num_h = h_mask.sum()
    weights = h_mask.to(pred.dtype)
    for mask in (m_mask, l_mask):
        ratio = num_h / mask.sum().clamp(min=1)
        keep = mask & (torch.rand_like(pred) < ratio)
        weights = weights + keep.to(pred.dtype)
    denom = weights.sum()
    loss = (weights * (pred - target)**2).sum() * 0.5
    return loss / denom.clamp(min=1.0)


def balanced_bce(pred: Tensor, target: Tensor, threshold: float,
                 ratio_range: Tuple[float, float] = (1.05, 21),
                 eps: float = 1e-5) -> Tensor:
    """BMN's balanced binary cross-entropy on ``1{tIoU > threshold}``.

    Calls MMAction2's ``BMNLoss.pem_cls_loss`` (reused, not re-written) with
    RCL's foreground threshold tau.
    """
    from mmaction.models.losses import BMNLoss
    return BMNLoss.pem_cls_loss(pred, target, torch.ones_like(target),
                                threshold=threshold, ratio_range=ratio_range,
                                eps=eps)


def rcl_stage_loss(queries: Tensor, logits: Tensor,
                   offsets: Optional[Tensor], valid: Tensor, iou: Tensor,
                   matched: Tensor, pos_iou_thr: float,
                   reg_iou_thrs: Tuple[float, float],
                   offset_iou_thr: Optional[float],
                   offset_stay: bool, loss_weight_reg: float,
                   loss_weight_offset: float,
                   has_gt: Optional[Tensor] = None,
                   offset_target: str = 'absolute') -> Dict[str, Tensor]:
    """``L_reg`` of one refinement stage (RCL, Eq. 5 + 6), unweighted by
    the stage weight of Eq. 8.

    ``cls``: balanced BCE of ``p^1`` on ``1{tIoU* > pos_iou_thr}``; ``reg``:
    ``loss_weight_reg`` x BMN's bin-balanced MSE of ``p^2`` on tIoU*;
    ``offset`` (when ``offsets`` is given): ``loss_weight_offset`` x L1
    between the offsets and ``(g* - x) / l``, ``g*`` the closest ground
    truth (:class:`RCLAssigner`): on every valid query as Eq. 6 is written
    (``offset_iou_thr=None``), or only on queries with tIoU* >
    ``offset_iou_thr`` (an earlier reading); with ``offset_stay`` (own
    design) the other valid queries then learn a zero offset (a separately
    averaged term), so that the offset field the recurrent refine module
    iterates is defined everywhere. ``offset_target='absolute'`` (default)
    measures the error in units of the video, ``|x* - g*| = l |offset -
    (g* - x) / l|`` (our reading of Eq. 6: its ``Delta x`` is the
    displacement ``x* - x`` of Eq. 4, compared with ``g* - x``), at most 1
    per boundary; ``'relative'`` in units of the query's length (the
    earlier reading: a short query far from ``g*`` has a target in the
    hundreds). A video without ground truth (``has_gt`` ``(B,)`` bool
    False) has no ``g*`` and no offset term.

    Shapes: ``queries`` / ``logits`` / ``offsets`` / ``matched``
    ``(B, Q, 2)``, ``valid`` / ``iou`` ``(B, Q)``.
    """
    probs = torch.sigmoid(logits)
    p_cls, p_reg = probs[..., 0][valid], probs[..., 1][valid]
    target = iou[valid]
    losses = dict(
        cls=balanced_bce(p_cls, target, pos_iou_thr),
        reg=loss_weight_reg * balanced_iou_mse(p_reg, target, *reg_iou_thrs))
    if offsets is not None:
        pos = valid if offset_iou_thr is None else valid & (
            iou > offset_iou_thr)
        if has_gt is not None:
            pos = pos & has_gt[:, None]
        length = (queries[..., 1] - queries[..., 0]).clamp(min=1e-6)
        off_t = (matched - queries) / length[..., None]
        # in units of the video ('absolute') or of the query ('relative')
        scale = length if offset_target == 'absolute' else 1.0
        err = (offsets - off_t).abs().sum(-1) * scale
        off = err[pos].sum() / pos.sum().clamp(min=1)
        if offset_stay:
            stay = valid & ~pos
            stay_err = offsets.abs().sum(-1) * scale
            off = off + stay_err[stay].sum() / stay.sum().clamp(min=1)
        losses['offset'] = loss_weight_offset * off
    return losses


def rcl_multi_stage_loss(stages: Sequence[dict], valid: Tensor,
                         stage_loss: Callable, stage_decay: float,
                         stage_weighting: str) -> Dict[str, Tensor]:
    """Eq. 8: ``sum_m alpha^power L_reg,m`` over the stages of
    ``RCLHead.forward`` (CAR first), as ``loss_rcl_{cls,reg,offset}``.

    ``stage_loss(queries, logits, offsets, valid)`` is one stage's
    unweighted dict of losses; the RRM stages use the ``valid`` rows of the
    queries they refine (their ``index``). ``power`` is ``m`` for
    ``stage_weighting='paper'`` and ``M - m`` for ``'raft'``.
    """
    totals: Dict[str, Tensor] = {}
    for m, st in enumerate(stages):
        st_valid = valid if m == 0 else valid.gather(1, st['index'])
        losses = stage_loss(st['queries'], st['logits'], st['offsets'],
                            st_valid)
        power = m if stage_weighting == 'paper' else (len(stages) - 1 - m)
        w = stage_decay**power
        for k, v in losses.items():
            key = f'loss_rcl_{k}'
            totals[key] = totals.get(key, 0) + w * v
    return totals
