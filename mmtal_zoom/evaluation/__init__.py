"""Evaluation: functional segment ops / mAP, and registered metrics."""
from . import functional, metrics  # noqa: F401
