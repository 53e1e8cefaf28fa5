"""Small building blocks: a learnable scalar and stochastic depth."""
import torch
from torch import Tensor, nn


class Scale(nn.Module):
    """Multiply by a learnable scalar (one per pyramid level in FCOS-style
    regression heads)."""

    def __init__(self, init_value: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init_value)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class DropPath(nn.Module):
    """Stochastic depth on the residual branch, per sample.

    Written here rather than taken from ``mmcv.cnn.bricks.DropPath`` because
    this one also accepts ``(B, C, T)`` inputs with the sample axis first and
    no dependency on mmcv's transformer module (which warns under mmcv-lite).
    """

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.dim() - 1)
        noise = x.new_empty(shape).bernoulli_(keep)
        return x * noise / keep
