"""1-D IoU losses on segments given as distances from a point.

``IoU1DLoss(mode='diou')`` is ActionFormer's ``ctr_diou_loss_1d``; ``'giou'``
is its ``ctr_giou_loss_1d``. Written here because mmdet's IoU losses are 2-D
boxes and mmdet is not a dependency.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmaction.registry import MODELS
from .utils import weight_reduce_loss


def iou_1d_loss(pred: Tensor, target: Tensor, mode: str = 'diou',
                eps: float = 1e-8) -> Tensor:
    """Args:
        pred, target (Tensor): ``(P, 2)`` non-negative distances
            ``(left, right)`` from the same points (or ``(P, 2)`` segments
            ``(start, end)`` — the maths only needs consistent coordinates;
            distances are what the heads use).

    Returns:
        Tensor: ``(P,)`` loss, ``1 - IoU`` (+ the GIoU / DIoU penalty).
    """
    lp, rp = pred[:, 0], pred[:, 1]
    lg, rg = target[:, 0], target[:, 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=eps)
    if mode == 'iou':
        return 1.0 - iou
    enclosing = torch.max(lp, lg) + torch.max(rp, rg)
    if mode == 'giou':
        return 1.0 - iou + (enclosing - union) / enclosing.clamp(min=eps)
    if mode == 'diou':
        # squared centre distance over squared enclosing length
        rho = 0.5 * (rp - lp - rg + lg)
        return 1.0 - iou + rho.square() / enclosing.square().clamp(min=eps)
    raise ValueError(f"mode must be 'iou', 'giou' or 'diou', got {mode!r}.")


@MODELS.register_module()
class IoU1DLoss(nn.Module):
    """IoU / GIoU / DIoU loss for 1-D segments.

    Args:
        mode (str): 'iou' | 'giou' | 'diou'.
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): multiplier.
    """

    def __init__(self, mode: str = 'diou', reduction: str = 'mean',
                 loss_weight: float = 1.0, eps: float = 1e-8):
        super().__init__()
        if mode not in ('iou', 'giou', 'diou'):
            raise ValueError(
                f"IoU1DLoss mode must be 'iou', 'giou' or 'diou', got "
                f'{mode!r}.')
        self.mode, self.eps = mode, eps
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred: Tensor, target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        loss = iou_1d_loss(pred, target, self.mode, self.eps)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, self.reduction, avg_factor)
