"""Backbones (MODELS): projections and transformer stacks over snippet features."""
from .conv_projection import ConvProjection

__all__ = ['ConvProjection']
