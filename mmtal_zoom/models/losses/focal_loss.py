"""Sigmoid focal loss (Lin et al., 2017), as ActionFormer uses it.

Written here because torchvision (which has ``sigmoid_focal_loss``) has no
CPU build on this project's machines, and mmcv-lite ships no ops.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from mmaction.registry import MODELS
from .utils import weight_reduce_loss


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> Tensor:
    """Element-wise ``-alpha_t (1 - p_t)^gamma log(p_t)``; same shape as
    ``logits``."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t)**gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


@MODELS.register_module()
class SigmoidFocalLoss(nn.Module):
    """Focal loss on sigmoid class logits.

    Args:
        alpha (float): positive-class weight; negative disables it.
        gamma (float): focusing parameter.
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): multiplier.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0,
                 reduction: str = 'mean', loss_weight: float = 1.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred: Tensor, target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            pred (Tensor): logits ``(P, K)``.
            target (Tensor): ``(P, K)`` in [0, 1].
        """
        loss = sigmoid_focal_loss(pred, target.to(pred.dtype), self.alpha,
                                  self.gamma)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, self.reduction, avg_factor)
