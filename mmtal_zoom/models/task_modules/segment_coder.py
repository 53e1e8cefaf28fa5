"""Distances to boundaries <-> segments (the 1-D
``DistancePointBBoxCoder``)."""
import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS


@TASK_UTILS.register_module()
class SegmentDistanceCoder:
    """Encode / decode segments as distances from a point.

    ``offsets = ((p - s) / stride, (e - p) / stride)`` for a point at grid
    position ``p`` of a level with ``stride`` and the segment ``[s, e]``.
    """

    def encode(self, points: Tensor, segments: Tensor) -> Tensor:
        """Args:
            points (Tensor): ``(..., 4)`` from :class:`PointGenerator1D`.
            segments (Tensor): ``(..., 2)`` grid units.

        Returns:
            Tensor: ``(..., 2)`` distances in units of the level's stride.
        """
        pos, stride = points[..., 0], points[..., 3]
        left = (pos - segments[..., 0]) / stride
        right = (segments[..., 1] - pos) / stride
        return torch.stack([left, right], dim=-1)

    def decode(self, points: Tensor, offsets: Tensor) -> Tensor:
        """Inverse of :meth:`encode`: ``(..., 2)`` segments in grid units."""
        pos, stride = points[..., 0], points[..., 3]
        start = pos - offsets[..., 0] * stride
        end = pos + offsets[..., 1] * stride
        return torch.stack([start, end], dim=-1)
