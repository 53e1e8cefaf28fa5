"""Necks (MODELS): feature pyramids over the backbone's output."""
from .gmg_neck import GMGNeck
from .transformer_pyramid_neck import TransformerPyramidNeck

__all__ = ['TransformerPyramidNeck', 'GMGNeck']
