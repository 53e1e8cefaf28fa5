"""Detectors: composition of backbone, neck and head."""
from .tal_detector import TALDetector

__all__ = ['TALDetector']
