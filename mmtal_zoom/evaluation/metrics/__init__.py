"""Registered evaluation metrics."""
from .tal_detection_metric import TALDetectionMetric, format_detection_report

__all__ = ['TALDetectionMetric', 'format_detection_report']
