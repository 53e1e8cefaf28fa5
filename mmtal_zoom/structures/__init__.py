"""Data structures and operations on temporal segments, shared by models,
datasets and evaluation (mmdetection keeps its box operations in
``mmdet.structures.bbox`` for the same reason: models must not import from
``evaluation`` or ``datasets``).

* :mod:`.segment_ops`: tIoU, NMS and Soft-NMS in pure torch;
* :mod:`.time_grid`: seconds <-> feature-grid positions (ActionFormer's
  snippet convention).
"""
from .segment_ops import (NMS_METHODS, batched_segment_iou,
                          multiclass_segment_nms, segment_iou, segment_nms,
                          soft_nms)
from .time_grid import grid_to_seconds, seconds_to_grid

__all__ = [
    'NMS_METHODS', 'segment_iou', 'batched_segment_iou', 'segment_nms',
    'soft_nms', 'multiclass_segment_nms', 'seconds_to_grid',
    'grid_to_seconds'
]
