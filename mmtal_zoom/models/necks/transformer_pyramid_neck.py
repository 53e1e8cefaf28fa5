"""ActionFormer's transformer feature pyramid (stem + stride-2 branch)."""
from typing import Optional, Sequence, Tuple

from torch import Tensor, nn

from mmaction.registry import MODELS
from ..layers import TransformerBlock1d
from .base_pyramid_neck import BasePyramidNeck


@MODELS.register_module()
class TransformerPyramidNeck(BasePyramidNeck):
    """Local-window transformer stem, then stride-2 transformer blocks.

    Follows ActionFormer (Zhang et al., ECCV 2022, Sec. 3.2 / its
    ``ConvTransformerBackbone`` + ``FPNIdentity``): ``num_stem`` blocks at
    full resolution give level 0, each of the ``num_levels - 1`` stride-2
    blocks gives the next level; every level ends in a LayerNorm. This is the
    uniform-compute baseline that ATR and CLTDR-GMG are compared against.

    Args:
        in_channels (int): ``D`` of the incoming single level.
        num_levels (int): pyramid levels ``L`` (ActionFormer THUMOS: 6).
        num_stem (int): full-resolution blocks before level 0.
        num_heads (int): attention heads.
        window_size (int): local attention window (19 in ActionFormer;
            ``<= 0`` for global attention).
        mlp_ratio (float): MLP width over ``D``.
        attn_drop, proj_drop (float): dropout.
        drop_path (float): stochastic depth of every block.
        out_norm (bool): LayerNorm on each output level.
        layer_scale_init (float, optional): initial residual scale of every
            block (ActionFormer: 1e-4); ``None`` for none.

    Shapes:
        ``((B, D, T),), ((B, T),)`` -> ``L`` levels ``(B, D, T / 2^l)`` and
        their masks ``(B, T / 2^l)``.
    """

    def __init__(self, in_channels: int, num_levels: int = 6,
                 num_stem: int = 2, num_heads: int = 4,
                 window_size: int = 19, mlp_ratio: float = 4.0,
                 attn_drop: float = 0.0, proj_drop: float = 0.0,
                 drop_path: float = 0.1, out_norm: bool = True,
                 layer_scale_init: Optional[float] = 1e-4,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}.')

        def block(stride):
            return TransformerBlock1d(
                in_channels, num_heads, window_size, stride, mlp_ratio,
                attn_drop, proj_drop, drop_path, layer_scale_init)

        self.num_levels = num_levels
        self.stem = nn.ModuleList(block(1) for _ in range(num_stem))
        self.branch = nn.ModuleList(block(2) for _ in range(num_levels - 1))
        self.out_norms = self.build_out_norms(in_channels, num_levels,
                                              out_norm)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor]
                ) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        x, mask = self.single_level('TransformerPyramidNeck', feats, masks)
        return self.pyramid(x, mask)
