"""Backbones (MODELS): projections and transformer stacks over snippet
features."""
from .atr_backbone import ATRBackbone
from .conv_projection import ConvProjection

__all__ = ['ConvProjection', 'ATRBackbone']
