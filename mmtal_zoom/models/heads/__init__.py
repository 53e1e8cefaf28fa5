"""Heads (MODELS): each owns its loss and its post-processing."""
from .actionformer_head import ActionFormerHead
from .base_tal_head import BaseTALHead
from .bdr_head import BDRHead
from .bdr_refined_head import BDRRefinedHead
from .cltdr_head import CLTDRHead
from .distillation_head import DistillationHead
from .rcl_head import RCLHead
from .tal_head_wrapper import TALHeadWrapper

__all__ = ['ActionFormerHead', 'BaseTALHead', 'BDRHead', 'BDRRefinedHead',
           'CLTDRHead', 'DistillationHead', 'RCLHead', 'TALHeadWrapper']
