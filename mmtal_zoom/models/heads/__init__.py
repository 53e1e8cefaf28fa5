"""Heads: each owns its loss and its prediction."""
from .base_tal_head import BaseTALHead

__all__ = ['BaseTALHead']
