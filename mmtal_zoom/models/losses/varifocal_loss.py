"""Varifocal loss (Zhang et al., "VarifocalNet: An IoU-aware Dense Object
Detector", CVPR 2021), the classification loss of CLTDR-GMG (Eq. 13).

Written here because mmdet (whose ``VarifocalLoss`` this mirrors) is not a
dependency of mmtal_zoom and mmcv-lite ships no ops.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from mmaction.registry import MODELS
from .utils import weight_reduce_loss


def varifocal_loss(pred: Tensor, target: Tensor, alpha: float = 0.75,
                   gamma: float = 2.0, iou_weighted: bool = True) -> Tensor:
    """Element-wise varifocal loss on sigmoid logits.

    With ``p = sigmoid(pred)`` and the IoU-aware target ``q`` (the IoU of the
    predicted segment with its ground truth for the positive class of a
    positive point, 0 elsewhere)::

        VFL(p, q) = -q (q log p + (1 - q) log(1 - p))   if q > 0
                  = -alpha p^gamma log(1 - p)            if q = 0

    Positives are weighted by ``q`` itself when ``iou_weighted`` (VFNet), by 1
    otherwise; negatives are down-weighted as in the focal loss.

    Args:
        pred (Tensor): logits, any shape, e.g. ``(P, K)``.
        target (Tensor): same shape, in ``[0, 1]``.
        alpha (float): weight of the negatives.
        gamma (float): focusing power on the negatives.
        iou_weighted (bool): weight positives by their target ``q``.

    Returns:
        Tensor: same shape as ``pred``.
    """
    target = target.to(pred.dtype)
    prob = pred.sigmoid()
    positive = (target > 0).to(pred.dtype)
    pos_weight = target * positive if iou_weighted else positive
    focal_weight = pos_weight + alpha * (prob - target).abs().pow(gamma) * (
        1.0 - positive)
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    return bce * focal_weight


@MODELS.register_module()
class VarifocalLoss(nn.Module):
    """Varifocal loss with an IoU-aware classification target.

    The head builds the target (IoU of the predicted segment with the ground
    truth at positives, 0 elsewhere, see :class:`CLTDRHead`); this module only
    evaluates the loss. Call signature as every mmtal_zoom loss:
    ``loss(pred, target, weight=None, avg_factor=None)``.

    Args:
        alpha (float): weight of the negatives (VFNet: 0.75).
        gamma (float): focusing power (VFNet: 2.0).
        iou_weighted (bool): weight positives by their IoU target (VFNet's
            default). ``CLTDRHead`` multiplies by Eq. 13's ``sigma_IoU``
            itself and builds this loss with ``iou_weighted=True`` (VFNet's
            loss as written: ``q^2 BCE`` on positives in all, at power 1);
            ``False`` is an earlier reading (``q BCE``), kept as an option.
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): multiplier.
    """

    def __init__(self, alpha: float = 0.75, gamma: float = 2.0,
                 iou_weighted: bool = True, reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        if not 0.0 <= alpha:
            raise ValueError(f'VarifocalLoss alpha must be >= 0, got {alpha}.')
        self.alpha, self.gamma = alpha, gamma
        self.iou_weighted = iou_weighted
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred: Tensor, target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            pred (Tensor): logits ``(P, K)``.
            target (Tensor): IoU-aware targets ``(P, K)`` in ``[0, 1]``.
            weight (Tensor, optional): element-wise weights ``(P, K)`` (or
                broadcastable).
            avg_factor (float, optional): divisor of the sum (e.g. the number
                of positives).
        """
        if pred.shape != target.shape:
            raise ValueError(
                f'VarifocalLoss: pred {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} must have the same shape.')
        loss = varifocal_loss(pred, target, self.alpha, self.gamma,
                              self.iou_weighted)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, self.reduction, avg_factor)
