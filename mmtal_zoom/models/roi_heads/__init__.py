"""Second stages of two-stage detectors (MODELS): refine a first stage's
proposals (mmdetection's ``roi_heads``)."""
from .rcl_roi_head import RCLRoIHead

__all__ = ['RCLRoIHead']
