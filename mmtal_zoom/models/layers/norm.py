"""Normalisation over the channel axis of ``(B, C, T)`` sequences."""
import torch
from torch import Tensor, nn


class LayerNorm1d(nn.LayerNorm):
    """LayerNorm over channels for ``(B, C, T)`` inputs (ActionFormer's
    ``LayerNorm``), without transposing to ``(B, T, C)``.

    A subclass of :class:`torch.nn.LayerNorm` (same ``weight`` / ``bias`` of
    shape ``(C,)``) so that mmengine's optimizer constructor recognises it
    as a normalisation layer (``paramwise_cfg.norm_decay_mult``).

    Args:
        num_channels (int): ``C``.
        eps (float): numerical stability.
        affine (bool): learn a per-channel scale and shift.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = (x - mu).square().mean(dim=1, keepdim=True)
        out = (x - mu) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out
