"""Conversion between seconds and feature-grid positions, in one place.

The field's convention (ActionFormer, TriDet, OpenTAD): snippet ``i`` of a
feature sequence covers frames ``[i * feat_stride, i * feat_stride +
num_frames)`` and is centred at frame ``i * feat_stride + num_frames / 2``.
Hence, for a time ``t`` in seconds and a video sampled at ``fps``::

    grid    = (t * fps - 0.5 * num_frames) / feat_stride            (1)
    seconds = (grid * feat_stride + 0.5 * num_frames) / fps           (2)

and (2) is clamped to ``[0, duration]``. Both functions accept Python floats,
numpy arrays or torch tensors and return the same type (tensors stay on their
device).
"""
from typing import Optional, TypeVar

import numpy as np
import torch

ArrayLike = TypeVar('ArrayLike', float, np.ndarray, torch.Tensor)


def seconds_to_grid(t: ArrayLike, fps: float, feat_stride: float,
                    num_frames: float) -> ArrayLike:
    """Map times in seconds to (fractional) feature-grid positions, Eq. (1)."""
    return (t * fps - 0.5 * num_frames) / feat_stride


def grid_to_seconds(grid: ArrayLike,
                    fps: float,
                    feat_stride: float,
                    num_frames: float,
                    duration: Optional[float] = None) -> ArrayLike:
    """Map feature-grid positions back to seconds, Eq. (2), clamped to
    ``[0, duration]`` when ``duration`` is given."""
    t = (grid * feat_stride + 0.5 * num_frames) / fps
    if duration is None:
        return t
    if isinstance(t, torch.Tensor):
        return t.clamp(min=0.0, max=float(duration))
    if isinstance(t, np.ndarray):
        return np.clip(t, 0.0, float(duration))
    return min(max(float(t), 0.0), float(duration))
