"""IoU-aware classification targets of CLTDR-GMG's loss (Li et al., AAAI
2025, Eq. 13; VFNet's varifocal targets): the positive (point, class) pairs
whose predicted distances are compared with the ground truth, and the VFL
targets ``q`` and element weights ``sigma_IoU^p`` built from their IoU.

Pure functions, used by :class:`CLTDRHead.loss_by_feat
<mmtal_zoom.models.heads.CLTDRHead>`."""
from typing import Optional, Tuple

import torch
from torch import Tensor


def positive_pairs(cls_pos: Tensor, dist: Tensor, reg_pos: Tensor,
                   num_boundary: int
                   ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Predicted / target distances of the positive (point, class) pairs.

    Args:
        cls_pos (Tensor): ``(N, K)`` class targets of positive points.
        dist (Tensor): ``(N, K_b, 2)`` predicted distances.
        reg_pos (Tensor): ``(N, 2)`` target distances.
        num_boundary (int): ``K_b``: 1 (class-agnostic boundaries) or ``K``.

    Returns:
        tuple: ``pred (M, 2)``, ``target (M, 2)`` and, with per-class
        boundaries, the index of each pair's element in
        ``cls_pos.flatten()`` (one pair per ground-truth class of a
        point). Class-agnostic boundaries: one pair per point
        (``M = N``) and index ``None``.
    """
    if num_boundary == 1:
        return dist[:, 0], reg_pos, None
    point, cls = cls_pos.nonzero(as_tuple=True)
    flat_idx = point * cls_pos.shape[1] + cls
    return dist[point, cls], reg_pos[point], flat_idx


def iou_aware_cls_targets(cls_pos: Tensor, iou: Tensor,
                          flat_idx: Optional[Tensor], iou_weight_power: float,
                          cls_target: str) -> Tuple[Tensor, Tensor]:
    """VFL targets ``q`` and element weights ``sigma_IoU^p`` ``(N, K)``.

    Args:
        cls_pos (Tensor): ``(N, K)`` class targets of positive points.
        iou (Tensor): ``(M,)`` IoU of each pair of :func:`positive_pairs`.
        flat_idx (Tensor, optional): the pairs' index from
            :func:`positive_pairs` (``None``: one IoU per point).
        iou_weight_power (float): ``p``.
        cls_target (str): ``'iou'`` (``q = IoU`` at the ground-truth class)
            or ``'binary'`` (``q = 1``).
    """
    is_pos = cls_pos > 0
    weight_val = iou.pow(iou_weight_power)
    if flat_idx is None:  # class-agnostic boundaries: one IoU per point
        q = cls_pos * iou[:, None] if cls_target == 'iou' else cls_pos
        weight = torch.where(is_pos,
                             weight_val[:, None].expand_as(cls_pos),
                             torch.ones_like(cls_pos))
        return q, weight
    q = cls_pos.clone().flatten()
    weight = torch.ones_like(q)
    if cls_target == 'iou':
        q[flat_idx] = iou
    weight[flat_idx] = weight_val
    return q.view_as(cls_pos), weight.view_as(cls_pos)
