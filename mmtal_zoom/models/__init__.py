"""Models: one sub-package per kind of component (mmdetection's layout)."""
from . import (backbones, data_preprocessors, detectors, heads, layers,  # noqa
               losses, necks, roi_heads, task_modules)
