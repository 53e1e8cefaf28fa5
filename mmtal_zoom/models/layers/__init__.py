"""Building blocks shared by several components (all carry validity masks)."""
from .atr_depth_router import ATRDepthRouter
from .conv_tower import ConvTower, init_cls_bias
from .cross_layer_fusion import CrossLayerFeatureFusion, CrossLayerFusion
from .global_filter import GlobalFilter
from .gmg_block import GlobalSelfAttention, GMGBlock, MaskedGroupNorm
from .masked_conv import MaskedConv1d, downsample_mask
from .norm import LayerNorm1d
from .pooling import masked_max_pool1d
from .recurrent_refine import RecurrentRefineModule
from .scale import DropPath, LayerScale, Scale
from .temporal_roi_align import interpolate_1d, temporal_roi_align
from .transformer import (MaskedMultiheadAttention, TransformerBlock1d,
                          local_window_attention)
from .trident import trident_distances

__all__ = ['MaskedConv1d', 'downsample_mask', 'LayerNorm1d',
           'masked_max_pool1d', 'DropPath', 'LayerScale', 'Scale',
           'MaskedMultiheadAttention', 'TransformerBlock1d',
           'local_window_attention', 'GlobalFilter', 'GlobalSelfAttention',
           'GMGBlock', 'MaskedGroupNorm', 'trident_distances',
           'RecurrentRefineModule', 'interpolate_1d', 'temporal_roi_align',
           'ATRDepthRouter', 'ConvTower', 'init_cls_bias', 'CrossLayerFusion',
           'CrossLayerFeatureFusion']
