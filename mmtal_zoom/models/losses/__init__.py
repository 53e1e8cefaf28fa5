"""Losses (MODELS)."""
from .balanced_bce_loss import BalancedBCELoss, balanced_bce_with_logits
from .focal_loss import SigmoidFocalLoss, sigmoid_focal_loss
from .iou_loss import IoU1DLoss, iou_1d_loss
from .signed_distance_loss import SignedDistanceLoss
from .utils import weight_reduce_loss
from .varifocal_loss import VarifocalLoss, varifocal_loss

__all__ = ['SigmoidFocalLoss', 'sigmoid_focal_loss', 'IoU1DLoss',
           'iou_1d_loss', 'weight_reduce_loss', 'VarifocalLoss',
           'varifocal_loss', 'SignedDistanceLoss', 'BalancedBCELoss',
           'balanced_bce_with_logits']
