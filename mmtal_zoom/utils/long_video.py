"""Test-time handling of videos longer than the training crop: window
placement for sliding-window inference and linear resizing along time.

Generic helpers, used by :class:`~mmtal_zoom.models.detectors.TALDetector`.
"""
from typing import List

import torch.nn.functional as F
from torch import Tensor


def sliding_window_starts(length: int, window: int, overlap: int) -> List[int]:
    """Start indices of windows of ``window`` steps covering ``[0, length)``
    with ``overlap`` steps shared by neighbours; the last window ends at
    ``length`` (it may overlap its neighbour more). A sequence that fits one
    window gives ``[0]``.

    Raises:
        ValueError: ``window < 1`` or ``overlap`` outside ``[0, window)``.
    """
    if window < 1 or not 0 <= overlap < window:
        raise ValueError(f'sliding window needs window >= 1 and 0 <= overlap '
                         f'< window, got window={window}, overlap={overlap}')
    if length <= window:
        return [0]
    step = window - overlap
    starts = list(range(0, length - window + 1, step))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


def resize_time(feats: Tensor, length: int) -> Tensor:
    """Linearly interpolate ``(B, C, T)`` features to ``(B, C, length)``
    with ``align_corners=True``: the first and last snippets stay in place,
    so grid position ``g`` of the result is ``g * (T - 1) / (length - 1)``
    of the input (:func:`resized_grid_scale`)."""
    if feats.shape[-1] == length:
        return feats
    if feats.shape[-1] == 1:
        return feats.expand(*feats.shape[:-1], length).contiguous()
    return F.interpolate(feats.float(), size=length, mode='linear',
                         align_corners=True).to(feats.dtype)


def resized_grid_scale(length: int, resized: int) -> float:
    """Grid units of the original sequence per grid unit of the resized one
    (:func:`resize_time`'s convention)."""
    if resized < 2:
        raise ValueError(f'resize length must be >= 2, got {resized}')
    return max(length - 1, 0) / (resized - 1)
