"""Anchor-free points on every pyramid level (ActionFormer's point
generator)."""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS


@TASK_UTILS.register_module()
class PointGenerator1D:
    """Points of a 1-D feature pyramid.

    Level ``l`` has stride ``strides[l]`` (in grid units of the input
    sequence); its ``i``-th location sits at grid position ``i * stride``
    and may only regress segments whose largest boundary distance lies in
    ``regression_ranges[l]`` (in grid units).

    Args:
        strides (Sequence[int]): stride of each level, e.g. ``(1, 2, 4, ...)``.
        regression_ranges (Sequence[tuple]): ``(lo, hi)`` per level; ``hi``
            may be ``float('inf')``.
    """

    def __init__(self, strides: Sequence[int],
                 regression_ranges: Sequence[Tuple[float, float]]):
        if len(strides) != len(regression_ranges):
            raise ValueError(
                f'PointGenerator1D: {len(strides)} strides but '
                f'{len(regression_ranges)} regression_ranges; they must '
                'match.')
        self.strides = [int(s) for s in strides]
        self.regression_ranges = [(float(lo), float(hi))
                                  for lo, hi in regression_ranges]

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    def grid_points(self, level_lengths: Sequence[int],
                    device: torch.device) -> List[Tensor]:
        """Args:
            level_lengths: ``T_l`` of every level.
            device: device of the returned tensors.

        Returns:
            list[Tensor]: per level ``(T_l, 4)`` =
            ``[position, range_lo, range_hi, stride]``.
        """
        if len(level_lengths) != self.num_levels:
            raise ValueError(
                f'PointGenerator1D has {self.num_levels} levels but the '
                f'head received {len(level_lengths)} feature levels.')
        points = []
        for t_l, stride, (lo, hi) in zip(level_lengths, self.strides,
                                         self.regression_ranges):
            pos = torch.arange(t_l, device=device, dtype=torch.float32)
            pos = pos * stride
            extra = pos.new_tensor([lo, hi, float(stride)]).expand(t_l, 3)
            points.append(torch.cat([pos[:, None], extra], dim=1))
        return points
