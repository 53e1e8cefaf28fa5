"""Visualization: timelines of predictions against ground truth."""
from .timeline import plot_detection_timelines

__all__ = ['plot_detection_timelines']
