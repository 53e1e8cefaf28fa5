"""Heads (MODELS): each owns its loss and its post-processing."""
from .actionformer_head import ActionFormerHead
from .base_tal_head import BaseTALHead
from .cltdr_head import CLTDRHead

__all__ = ['ActionFormerHead', 'BaseTALHead', 'CLTDRHead']
