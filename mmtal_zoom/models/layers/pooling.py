"""Max-pool downsampling that ignores padded positions."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor

from .masked_conv import downsample_mask


def masked_max_pool1d(x: Tensor, mask: Tensor, kernel_size: int = 3,
                      stride: int = 2,
                      padding: int = 1) -> Tuple[Tensor, Tensor]:
    """``F.max_pool1d`` in which padded positions never win.

    Padded positions are set to ``-inf`` before pooling (as the pool's own
    border padding is), so a sequence gives the same outputs at its valid
    positions whether or not a batch pads it further. Used by the transformer
    pyramid's skip path (ActionFormer) and by GMG's downsampling (CLTDR-GMG).

    Shapes:
        x: ``(B, C, T)``, mask: ``(B, T)`` bool -> ``(B, C, T')``, ``(B, T')``.
    """
    filled = x.masked_fill(~mask[:, None, :], float('-inf'))
    out = F.max_pool1d(filled, kernel_size, stride=stride, padding=padding)
    out_mask = downsample_mask(mask, out.shape[-1])
    out = out.masked_fill(~out_mask[:, None, :], 0.0)
    return out, out_mask
