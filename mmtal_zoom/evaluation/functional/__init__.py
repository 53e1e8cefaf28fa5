"""Functional evaluation tools: segment ops (tIoU, NMS, Soft-NMS) and the
vectorised detection mAP."""
from .detection_map import (DEFAULT_LENGTH_BUCKETS, DEFAULT_RECALL_TOPK,
                            DEFAULT_TIOU_THRESHOLDS,
                            detection_average_precision, evaluate_detection,
                            length_bucket_name, match_detections)
from .segment_ops import (batched_segment_iou, multiclass_segment_nms,
                          segment_iou, segment_nms, soft_nms)

__all__ = [
    'segment_iou', 'batched_segment_iou', 'segment_nms', 'soft_nms',
    'multiclass_segment_nms', 'match_detections',
    'detection_average_precision', 'evaluate_detection', 'length_bucket_name',
    'DEFAULT_TIOU_THRESHOLDS', 'DEFAULT_LENGTH_BUCKETS', 'DEFAULT_RECALL_TOPK'
]
