"""Weighting and reduction shared by every loss (mmdet's
``weight_reduce_loss``)."""
from typing import Optional

from torch import Tensor


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Apply element-wise ``weight`` then reduce.

    With ``avg_factor`` and ``reduction='mean'`` the sum is divided by
    ``avg_factor`` (e.g. the number of positives), as in the papers' losses.
    """
    if weight is not None:
        loss = loss * weight
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if reduction != 'mean':
        raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got "
                         f'{reduction!r}.')
    if avg_factor is None:
        return loss.mean()
    return loss.sum() / max(float(avg_factor), 1e-6)
