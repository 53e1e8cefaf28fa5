"""The GMG feature pyramid of CLTDR-GMG (Li et al., AAAI 2025, Sec. "Encoder
with GMG")."""
from typing import Optional, Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..layers import MaskedConv1d
from ..layers.global_filter import check_prefix_mask
from ..layers.gmg_block import GMGBlock
from .base_pyramid_neck import BasePyramidNeck


def max_pool_downsample(x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Max-pool by 2 (kernel 3, padding 1) in which padding never wins.

    Output ``i`` is centred on input ``2 i`` and valid when that input is,
    for any length ``T`` (output length ``ceil(T / 2)``). Written here rather
    than using ``layers.masked_max_pool1d`` because that one resizes the mask
    by nearest interpolation, which puts output ``i`` on input
    ``floor(i * T / ceil(T / 2))`` instead of ``2 i`` when ``T`` is odd.

    Shapes: ``(B, C, T), (B, T)`` -> ``(B, C, ceil(T/2)), (B, ceil(T/2))``.
    """
    filled = x.masked_fill(~mask[:, None], float('-inf'))
    out = F.max_pool1d(filled, kernel_size=3, stride=2, padding=1)
    out_mask = mask[:, ::2]
    return out.masked_fill(~out_mask[:, None], 0.0), out_mask


@MODELS.register_module()
class GMGNeck(BasePyramidNeck):
    """Feature pyramid of GMG blocks with max-pool downsampling.

    The encoder of CLTDR-GMG after its two conv + ReLU projection layers
    (``ConvProjection``): ``num_stem`` GMG blocks at full resolution give
    level 0; each further level is a max-pool by 2 followed by a GMG block
    (TriDet / the authors' code: 2 stem + 5 stride-2 blocks = 6 levels on
    THUMOS14). Each output level optionally ends in a LayerNorm (the
    ``FPNIdentity`` neck of ActionFormer / TriDet).

    Padding never changes the outputs at valid positions (every block is
    masked, the FFT runs on each sequence's valid part, the GroupNorm uses
    valid positions only), and any input length works: level ``l`` has
    ``ceil(T / 2^l)`` positions, position ``i`` at input grid ``i * 2^l``,
    matching ``PointGenerator1D``.

    Args:
        in_channels (int): ``C`` of the incoming single level.
        embed_dims (int, optional): ``D`` of the pyramid; a 1x1 masked conv
            projects the input when it differs from ``in_channels``.
            Default: ``in_channels``.
        num_levels (int): pyramid levels ``L`` (THUMOS14: 6, ActivityNet: 7).
        num_stem (int): full-resolution GMG blocks before level 0.
        **block_kwargs: the options of every :class:`GMGBlock`, with its
            defaults:
        ffn_dims (int, optional): FFN hidden size (THUMOS14 config: 768).
        local_kernel_size (int): local branch kernel (official THUMOS14: 1).
        use_instant, use_local, use_global (bool): branch switches (Tab. 6).
        gate (str): ``'paper'`` (Eq. 4, nested) | ``'flat'`` |
            ``'official'`` | ``'none'`` (Tab. 7).
        global_mixer (str): ``'fft'`` | ``'attention'`` (Tab. 8).
        global_filter (dict, optional): :class:`GlobalFilter` kwargs, e.g.
            ``dict(filter_type='conv', kernel_size=3)`` (paper) or
            ``dict(filter_type='mlp')`` (official code).
        num_heads (int): heads of the ``'attention'`` global mixer.
        instant_depthwise (bool): per-channel instant branch (official).
        num_groups (int): GroupNorm groups.
        drop_path (float): stochastic depth of every block.
        layer_scale_init (float, optional): residual layer scale (official
            code: 1e-4 with drop path); ``None`` for none.
        out_norm (bool): LayerNorm on each output level.

    Shapes:
        ``((B, C, T),), ((B, T),)`` -> ``L`` levels ``(B, D, ceil(T / 2^l))``
        and their masks.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: Optional[int] = None,
                 num_levels: int = 6,
                 num_stem: int = 2,
                 out_norm: bool = True,
                 init_cfg: Optional[dict] = None,
                 **block_kwargs):
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}.')
        embed_dims = embed_dims or in_channels
        self.in_channels, self.embed_dims = in_channels, embed_dims
        self.num_levels = num_levels
        self.input_proj = (MaskedConv1d(in_channels, embed_dims, 1)
                           if in_channels != embed_dims else None)

        def block():
            # the block options (ffn_dims ... layer_scale_init) and their
            # defaults are GMGBlock's
            return GMGBlock(embed_dims, **block_kwargs)

        self.stem = nn.ModuleList(block() for _ in range(num_stem))
        self.branch = nn.ModuleList(block() for _ in range(num_levels - 1))
        self.out_norms = self.build_out_norms(embed_dims, num_levels,
                                              out_norm)

    def downsample(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Max-pool by 2 before each branch block."""
        return max_pool_downsample(x, mask)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor]
                ) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        x, mask = self.single_level('GMGNeck', feats, masks)
        mask = mask.bool()
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'GMGNeck expects {self.in_channels}-d features (B, C, T), '
                f'got shape {tuple(x.shape)}: check in_channels.')
        check_prefix_mask(mask, 'GMGNeck')
        x = x * mask[:, None].to(x.dtype)
        if self.input_proj is not None:
            x, mask = self.input_proj(x, mask)
        return self.pyramid(x, mask)
