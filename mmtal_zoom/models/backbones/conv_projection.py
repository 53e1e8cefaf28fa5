"""The input projection of ActionFormer / CLTDR-GMG: masked convs to ``D``
dims."""
from typing import Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..layers.conv_tower import masked_conv_layers


@MODELS.register_module()
class ConvProjection(BaseModule):
    """``num_convs`` x (masked conv -> [LayerNorm] -> ReLU) from the input
    feature dimension to ``embed_dims``.

    This is ActionFormer's embedding ("embd") stage and the CLTDR-GMG
    encoder's "two consecutive 1D CNNs followed by ReLU activation" (its
    Method section, feature projection); a pyramid neck
    (``TransformerPyramidNeck``, ``GMGNeck``) follows it.

    Args:
        in_channels (int): input feature dimension ``C`` (e.g. 2048 for I3D).
        embed_dims (int): output dimension ``D``.
        num_convs (int): number of conv layers.
        kernel_size (int): temporal kernel size.
        with_ln (bool): LayerNorm after each conv (ActionFormer: True).
        input_dropout (float): dropout on the input features (training).

    Shapes:
        ``x (B, C, T), mask (B, T)`` -> ``((B, D, T),), ((B, T),)``: a single
        level, as every backbone returns a tuple of levels.
    """

    def __init__(self, in_channels: int, embed_dims: int, num_convs: int = 2,
                 kernel_size: int = 3, with_ln: bool = True,
                 input_dropout: float = 0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(f'num_convs must be >= 1, got {num_convs}.')
        self.input_dropout = nn.Dropout(input_dropout)
        self.convs, self.norms = masked_conv_layers(in_channels, embed_dims,
                                                    num_convs, kernel_size,
                                                    with_ln)
        self.in_channels = in_channels

    def forward(self, x: Tensor,
                mask: Tensor) -> Tuple[Tuple[Tensor], Tuple[Tensor]]:
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'ConvProjection expects {self.in_channels}-d input features '
                f'(B, C, T), got shape {tuple(x.shape)}: check the config\'s '
                'in_channels against the feature files.')
        x = self.input_dropout(x)
        for conv, norm in zip(self.convs, self.norms):
            x, mask = conv(x, mask)
            x = (norm(x) * mask[:, None].to(x.dtype)).relu()
        return (x, ), (mask, )
