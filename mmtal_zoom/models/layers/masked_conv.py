"""1-D convolution that carries a validity mask (ActionFormer's
``MaskedConv1D``)."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor, nn


def downsample_mask(mask: Tensor, length: int) -> Tensor:
    """Resize a validity mask ``(B, T)`` to ``(B, length)`` (nearest).

    A strided layer keeps output position ``i`` valid when input position
    ``i * stride`` is valid, which is what nearest interpolation gives for
    integer strides.
    """
    if mask.shape[-1] == length:
        return mask
    return F.interpolate(mask[:, None].float(), size=length,
                         mode='nearest')[:, 0].bool()


class MaskedConv1d(nn.Conv1d):
    """``nn.Conv1d`` that ignores padded inputs and zeroes padded outputs.

    Inputs at padded positions are zeroed first, so a sequence gives the
    same outputs at its valid positions however much a batch pads it (the
    conv's own border padding is zeros too).

    Args: those of :class:`torch.nn.Conv1d`; ``padding`` defaults to
    ``kernel_size // 2`` so that stride 1 keeps the length. The bias starts
    at zero (ActionFormer's ``MaskedConv1D``).

    Shapes:
        x: ``(B, C_in, T)``, mask: ``(B, T)`` bool ->
        ``(B, C_out, T // stride)``, ``(B, T // stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int, stride: int = 1, padding=None,
                 **kwargs):
        if padding is None:
            padding = kernel_size // 2
        super().__init__(in_channels, out_channels, kernel_size,
                         stride=stride, padding=padding, **kwargs)
        if stride > 1 and kernel_size % 2 != 1:
            raise ValueError('MaskedConv1d with stride > 1 needs an odd '
                             f'kernel_size, got {kernel_size}.')
        if self.bias is not None:  # ActionFormer's MaskedConv1D: zero bias
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        out = super().forward(x * mask[:, None].to(x.dtype))
        out_mask = downsample_mask(mask, out.shape[-1])
        return out * out_mask[:, None].to(out.dtype), out_mask
