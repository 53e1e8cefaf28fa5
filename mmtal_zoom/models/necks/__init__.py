"""Necks (MODELS): feature pyramids over the backbone's output."""
from .transformer_pyramid_neck import TransformerPyramidNeck
from .gmg_neck import GMGNeck

__all__ = ['TransformerPyramidNeck', 'GMGNeck']
