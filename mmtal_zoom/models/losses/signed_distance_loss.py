"""Robust, boundary-weighted regression loss of Boundary Distance Regression.

Temporal Zoom Networks (seed 000): BDR "replaces classification-based
boundary detection with signed-distance regression" (abstract); Fig. 2
gives the regressed field, ``d(t) = t - b(t)``. The seed (abstract, figure
captions and theorem statements only) does not give the regression loss.

Own design (not from the paper):

    l(t) = w(t) * huber_beta(pred(t) - target(t)),
    w(t) = 1 + boundary_weight * exp(-target(t)^2 / (2 * boundary_sigma^2))

The Huber (smooth-L1) penalty keeps the gradient bounded for the large
distances far from boundaries; ``w`` puts up to ``1 + boundary_weight`` times
more weight on the steps within a few ``boundary_sigma`` of a boundary, where
the zero crossing (the localised boundary) is decided.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmaction.registry import MODELS

from .utils import weight_reduce_loss


def signed_distance_loss(pred: Tensor, target: Tensor, beta: float = 1.0,
                         boundary_sigma: float = 2.0,
                         boundary_weight: float = 4.0) -> Tensor:
    """Element-wise boundary-weighted Huber loss (see the module doc).

    Args:
        pred, target (Tensor): same shape, e.g. ``(P, 2)`` signed distances.
        beta (float): Huber threshold (quadratic below, linear above).
        boundary_sigma (float): width of the boundary emphasis, same unit
            as the distances.
        boundary_weight (float): extra weight at the boundary (``>= 0``).

    Returns:
        Tensor: same shape as ``pred``.
    """
    diff = (pred - target).abs()
    if beta > 0:
        huber = torch.where(diff < beta, 0.5 * diff.square() / beta,
                            diff - 0.5 * beta)
    else:
        huber = diff
    emphasis = 1.0 + boundary_weight * torch.exp(
        -target.square() / (2.0 * boundary_sigma**2))
    return huber * emphasis


@MODELS.register_module()
class SignedDistanceLoss(nn.Module):
    """Boundary-weighted robust loss on signed boundary distances (BDR; the
    form is own design, see the module doc).

    Args:
        beta (float): Huber threshold in the distances' unit (grid units
            in :class:`BDRHead`).
        boundary_sigma (float): width of the boundary emphasis.
        boundary_weight (float): extra weight at a boundary.
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): multiplier.
    """

    def __init__(self, beta: float = 1.0, boundary_sigma: float = 2.0,
                 boundary_weight: float = 4.0, reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        if boundary_sigma <= 0 or boundary_weight < 0 or beta < 0:
            raise ValueError(
                'SignedDistanceLoss needs boundary_sigma > 0, '
                f'boundary_weight >= 0 and beta >= 0; got {boundary_sigma}, '
                f'{boundary_weight}, {beta}.')
        self.beta = beta
        self.boundary_sigma = boundary_sigma
        self.boundary_weight = boundary_weight
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred: Tensor, target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            pred, target (Tensor): ``(P, 2)`` (or any equal shapes).
            weight (Tensor, optional): element weights (0 = ignored).
            avg_factor (float, optional): divisor of the sum.
        """
        if pred.shape != target.shape:
            raise ValueError(
                f'SignedDistanceLoss: pred {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} must have the same shape.')
        loss = signed_distance_loss(pred, target.to(pred.dtype), self.beta,
                                    self.boundary_sigma, self.boundary_weight)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, self.reduction, avg_factor)
