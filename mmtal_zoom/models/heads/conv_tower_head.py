"""The base of the heads whose branches are masked conv towers shared by
every pyramid level (ActionFormer, CLTDR-GMG)."""
from typing import Optional

from torch import Tensor, nn

from ..layers import Scale
from ..layers.conv_tower import ConvTower
from ..layers.non_negative import non_negative, reg_activation_fn
from .base_tal_head import BaseTALHead


class ConvTowerHead(BaseTALHead):
    """A :class:`BaseTALHead` that builds its branches as :class:`ConvTower`
    s of one shape, with centre sampling as its default assigner.

    Args:
        num_classes (int): ``K``.
        in_channels (int): channels of every pyramid level.
        feat_channels (int): channels of the conv towers.
        num_convs (int): conv + [LN] + ReLU blocks before each tower's output
            conv.
        kernel_size (int): temporal kernel of the towers.
        with_ln (bool): LayerNorm in the towers.
        assigner (dict): label assigner config.
        reg_activation (str): how the regressed distances are made
            non-negative: ``'revived_relu'`` (a ReLU whose gradient below 0
            still raises the output, own design: a regression channel
            cannot die; predictions as ReLU's) or ``'relu'`` (ActionFormer's
            ReLU, the earlier default). See ``layers/non_negative.py``.
        **kwargs: ``prior_generator``, ``bbox_coder``, ``loss_normalizer``,
            ``test_cfg``... of :class:`BaseTALHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feat_channels: int,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 with_ln: bool = True,
                 assigner: dict = dict(type='CenterSamplingAssigner'),
                 reg_activation: str = 'revived_relu',
                 **kwargs):
        super().__init__(num_classes=num_classes, assigner=assigner,
                         **kwargs)
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.num_convs = num_convs
        self.kernel_size = kernel_size
        self.with_ln = with_ln
        reg_activation_fn(reg_activation)  # a ValueError for unknown names
        self.reg_activation = reg_activation

    def non_negative(self, x: Tensor) -> Tensor:
        """The regressed distances ``(B, 2, T_l)`` made non-negative with
        ``reg_activation``."""
        return non_negative(x, self.reg_activation)

    def build_tower(self, out_channels: int,
                    kernel_size: Optional[int] = None) -> ConvTower:
        """A tower from the levels' channels to ``out_channels`` (kernel
        ``kernel_size``, default the head's)."""
        return ConvTower(self.in_channels, self.feat_channels, out_channels,
                         self.num_convs,
                         self.kernel_size if kernel_size is None else
                         kernel_size, self.with_ln)

    def build_level_scales(self) -> nn.ModuleList:
        """One learnable :class:`Scale` per pyramid level."""
        return nn.ModuleList(
            Scale() for _ in range(self.prior_generator.num_levels))
