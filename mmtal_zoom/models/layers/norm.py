"""Normalisation over the channel axis of ``(B, C, T)`` sequences."""
import torch
from torch import Tensor, nn


class LayerNorm1d(nn.Module):
    """LayerNorm over channels for ``(B, C, T)`` inputs (ActionFormer's
    ``LayerNorm``), without transposing to ``(B, T, C)``.

    Args:
        num_channels (int): ``C``.
        eps (float): numerical stability.
        affine (bool): learn a per-channel scale and shift.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        self.eps = eps
        if affine:
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))
        else:
            self.register_parameter('weight', None)
            self.register_parameter('bias', None)

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = (x - mu).square().mean(dim=1, keepdim=True)
        out = (x - mu) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out
