"""Functional evaluation tools: the vectorised detection mAP, its paired
bootstrap over videos, the share of boundaries on the feature grid (a dead
regression channel shows there), and the segment
ops of :mod:`mmtal_zoom.structures` (tIoU, NMS, Soft-NMS) re-exported."""
from ...structures.segment_ops import (batched_segment_iou,
                                       multiclass_segment_nms, segment_iou,
                                       segment_nms, soft_nms)
from .boundary_grid import (DEAD_CHANNEL_SHARE, boundaries_on_grid,
                            dead_boundaries)
from .detection_map import (DEFAULT_LENGTH_BUCKETS, DEFAULT_RECALL_TOPK,
                            DEFAULT_TIOU_THRESHOLDS,
                            detection_average_precision, evaluate_detection,
                            length_bucket_name, match_detections)
from .paired_bootstrap import paired_bootstrap_map, percentile_interval

__all__ = [
    'segment_iou', 'batched_segment_iou', 'segment_nms', 'soft_nms',
    'multiclass_segment_nms', 'match_detections',
    'detection_average_precision', 'evaluate_detection', 'length_bucket_name',
    'DEFAULT_TIOU_THRESHOLDS', 'DEFAULT_LENGTH_BUCKETS', 'DEFAULT_RECALL_TOPK',
    'paired_bootstrap_map', 'percentile_interval', 'boundaries_on_grid',
    'dead_boundaries', 'DEAD_CHANNEL_SHARE'
]
