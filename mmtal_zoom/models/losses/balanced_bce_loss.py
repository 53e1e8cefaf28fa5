"""Class-balanced binary logistic loss (BMN's temporal evaluation loss).

"BMN: Boundary-Matching Network for Temporal Action Proposal Generation"
(Lin et al.) trains its start / end probabilities with a binary logistic loss
whose positive and negative terms are re-weighted by their frequencies, so
that the rare boundary steps count as much as the many others:

    l = sum_t w_t (a_pos y_t (-log p_t) + a_neg (1 - y_t) (-log(1 - p_t)))
        / sum_t w_t,
    a_pos = 0.5 N / N_pos,  a_neg = 0.5 N / N_neg,

with ``N`` the (weighted) number of steps and ``N_pos`` / ``N_neg`` those with
a positive / negative label (BMN: ``0.5 r`` and ``0.5 r / (r - 1)`` with
``r = N / N_pos``, the same numbers). A term without any step of its kind
gets no weight; the other keeps ``0.5 N / N_x``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmaction.registry import MODELS


def balanced_bce_with_logits(logits: Tensor, targets: Tensor,
                             weight: Optional[Tensor] = None) -> Tensor:
    """The balanced logistic loss above, one scalar for all elements.

    Args:
        logits (Tensor): any shape, e.g. ``(B, T)``.
        targets (Tensor): same shape, in ``{0, 1}``.
        weight (Tensor, optional): same shape, ``>= 0`` (0 = ignored, e.g.
            padded steps).

    Returns:
        Tensor: scalar (0 when every weight is 0).
    """
    targets = targets.to(logits.dtype)
    w = torch.ones_like(logits) if weight is None else weight.to(
        logits.dtype)
    n = w.sum()
    n_pos = (w * targets).sum()
    n_neg = n - n_pos
    a_pos = torch.where(n_pos > 0, 0.5 * n / n_pos.clamp(min=1e-6),
                        n_pos.new_zeros(()))
    a_neg = torch.where(n_neg > 0, 0.5 * n / n_neg.clamp(min=1e-6),
                        n_neg.new_zeros(()))
    bce = F.binary_cross_entropy_with_logits(logits, targets,
                                             reduction='none')
    coef = a_pos * targets + a_neg * (1 - targets)
    return (w * coef * bce).sum() / n.clamp(min=1e-6)


@MODELS.register_module()
class BalancedBCELoss(nn.Module):
    """Class-balanced binary logistic loss on logits (module doc).

    Args:
        loss_weight (float): multiplier.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor, targets: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Args: ``logits``, ``targets`` and ``weight`` of one shape."""
        if logits.shape != targets.shape:
            raise ValueError(
                f'BalancedBCELoss: logits {tuple(logits.shape)} and targets '
                f'{tuple(targets.shape)} must have the same shape.')
        return self.loss_weight * balanced_bce_with_logits(
            logits, targets, weight)
