"""Which point learns which ground truth (ActionFormer / FCOS label
assignment)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmaction.registry import TASK_UTILS


@TASK_UTILS.register_module()
class CenterSamplingAssigner:
    """Centre sampling + regression ranges, ties broken by the shortest action.

    A point at position ``p`` with stride ``s`` is positive for ground truth
    ``[a, b]`` when (i) it lies inside the segment — with centre sampling,
    inside ``[max(a, c - r*s), min(b, c + r*s)]`` where ``c`` is the segment
    centre and ``r`` the radius — and (ii) ``max(p - a, b - p)`` falls in the
    level's regression range. Among several such ground truths the shortest
    wins; equally short ones all contribute to the (multi-hot) class target.

    Args:
        center_sample (str): ``'radius'`` or ``'none'``.
        center_sample_radius (float): ``r`` above, in units of the stride.
    """

    def __init__(self, center_sample: str = 'radius',
                 center_sample_radius: float = 1.5):
        if center_sample not in ('radius', 'none'):
            raise ValueError(
                f"center_sample must be 'radius' or 'none', got "
                f'{center_sample!r}.')
        self.center_sample = center_sample
        self.center_sample_radius = center_sample_radius

    def assign(self, points: Tensor, gt_segments: Tensor, gt_labels: Tensor,
               num_classes: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Args:
            points (Tensor): ``(P, 4)`` all levels concatenated.
            gt_segments (Tensor): ``(N, 2)`` grid units.
            gt_labels (Tensor): ``(N,)`` long.
            num_classes (int): ``K``.

        Returns:
            tuple: ``cls_targets`` ``(P, K)`` float in {0, 1};
            ``reg_targets`` ``(P, 2)`` distances divided by the stride
            (meaningful at positives only); ``pos_mask`` ``(P,)`` bool.
        """
        num_pts, num_gts = points.shape[0], gt_segments.shape[0]
        if num_gts == 0:
            return (points.new_zeros(num_pts, num_classes),
                    points.new_zeros(num_pts, 2),
                    points.new_zeros(num_pts, dtype=torch.bool))
        pos, lo, hi, stride = points.unbind(-1)
        segs = gt_segments.to(points.dtype)[None].expand(num_pts, num_gts, 2)
        left = pos[:, None] - segs[..., 0]
        right = segs[..., 1] - pos[:, None]
        reg = torch.stack([left, right], dim=-1)  # (P, N, 2)

        if self.center_sample == 'radius':
            centre = 0.5 * (segs[..., 0] + segs[..., 1])
            radius = stride[:, None] * self.center_sample_radius
            c_left = pos[:, None] - torch.maximum(centre - radius,
                                                  segs[..., 0])
            c_right = torch.minimum(centre + radius,
                                    segs[..., 1]) - pos[:, None]
            inside = torch.minimum(c_left, c_right) > 0
        else:
            inside = reg.min(dim=-1).values > 0
        max_dist = reg.max(dim=-1).values
        in_range = (max_dist >= lo[:, None]) & (max_dist <= hi[:, None])

        lens = (segs[..., 1] - segs[..., 0]).clone()
        lens.masked_fill_(~(inside & in_range), float('inf'))
        min_len, min_idx = lens.min(dim=1)
        winners = (lens <= min_len[:, None] + 1e-3) & torch.isfinite(lens)
        one_hot = F.one_hot(gt_labels.long(), num_classes).to(points.dtype)
        cls_targets = (winners.to(points.dtype) @ one_hot).clamp_(0.0, 1.0)
        reg_targets = reg[torch.arange(num_pts, device=points.device), min_idx]
        reg_targets = reg_targets / stride[:, None]
        pos_mask = torch.isfinite(min_len)
        return cls_targets, reg_targets, pos_mask
