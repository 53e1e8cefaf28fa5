"""The masked conv tower of ActionFormer's heads and the classification-bias
initialisation every dense head shares (ActionFormer, CLTDR-GMG, BDR)."""
import math
from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from .masked_conv import MaskedConv1d
from .norm import LayerNorm1d


def masked_conv_layers(in_channels: int, channels: int, num_convs: int,
                       kernel_size: int, with_ln: bool
                       ) -> Tuple[nn.ModuleList, nn.ModuleList]:
    """``num_convs`` masked convs (``in_channels`` -> ``channels`` ->
    ... ``channels``, no bias under LayerNorm) and the norm after each
    (``LayerNorm1d``, or ``Identity`` without ``with_ln``): the body of
    :class:`ConvTower` and of ``ConvProjection``."""
    convs, norms = nn.ModuleList(), nn.ModuleList()
    for i in range(num_convs):
        convs.append(
            MaskedConv1d(in_channels if i == 0 else channels, channels,
                         kernel_size, bias=not with_ln))
        norms.append(LayerNorm1d(channels) if with_ln else nn.Identity())
    return convs, norms


class ConvTower(nn.Module):
    """``num_convs`` x (masked conv -> [LN] -> ReLU), then an output conv.

    The tower of ActionFormer's ``PtTransformerClsHead`` /
    ``PtTransformerRegHead``, shared by every pyramid level.

    Shapes: ``(B, C_in, T), (B, T)`` -> ``(B, C_out, T)``.
    """

    def __init__(self, in_channels: int, feat_channels: int,
                 out_channels: int, num_convs: int = 2,
                 kernel_size: int = 3, with_ln: bool = True):
        super().__init__()
        self.convs, self.norms = masked_conv_layers(in_channels, feat_channels,
                                                    num_convs, kernel_size,
                                                    with_ln)
        self.out_conv = MaskedConv1d(
            feat_channels if num_convs else in_channels, out_channels,
            kernel_size)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x, _ = conv(x, mask)
            x = (norm(x) * mask[:, None].to(x.dtype)).relu()
        return self.out_conv(x, mask)[0]


def init_cls_bias(bias: Tensor, prior_prob: float,
                  empty_cls: Sequence[int] = ()) -> None:
    """Focal-loss bias initialisation (RetinaNet / ActionFormer): every class
    starts at foreground probability ``prior_prob``; the classes of
    ``empty_cls`` (no training instances) at ``1e-6``, so that they are never
    predicted."""
    with torch.no_grad():
        bias.fill_(-math.log((1 - prior_prob) / prior_prob))
        for c in empty_cls:
            bias[c] = -math.log((1 - 1e-6) / 1e-6)
