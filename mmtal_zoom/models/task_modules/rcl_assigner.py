"""RCL's matching of segment queries to the ground truth (RCL, Eq. 5).

Wang et al., "RCL: Recurrent Continuous Localization for Temporal Action
Detection", CVPR 2022: every query is supervised by its tIoU with the best
matching ground truth ``g*`` (the confidence targets) and by the offsets
towards ``g*`` (Eq. 6).
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS
from ...structures import batched_segment_iou


@TASK_UTILS.register_module()
class RCLAssigner:
    """tIoU* of every query with its best ground truth, and that ``g*``.

    ``g*`` is "the closest ground-truth annotation to the input segment"
    (RCL, Eq. 6); the paper names no measure, so "closest" is our reading:
    the one of highest tIoU, and for a query that overlaps no ground truth
    (tIoU 0 with all, where tIoU ties) the one of smallest boundary distance
    ``|s - s_g| + |e - e_g|``.
    """

    @staticmethod
    def pad_gts(gt_segments: Sequence[Tensor], ref: Tensor
                ) -> Tuple[Tensor, Tensor]:
        """Per-video ``(N_i, 2)`` ground truth -> ``gts (B, N, 2)`` padded
        with zeros and ``valid (B, N)`` bool (``N >= 1``), on ``ref``'s
        device and dtype."""
        b = len(gt_segments)
        n = max([int(g.shape[0]) for g in gt_segments] + [1])
        gts = ref.new_zeros(b, n, 2)
        valid = torch.zeros(b, n, dtype=torch.bool, device=ref.device)
        for i, g in enumerate(gt_segments):
            g = torch.as_tensor(g, dtype=ref.dtype, device=ref.device)
            if g.numel():
                gts[i, :g.shape[0]] = g.reshape(-1, 2)
                valid[i, :g.shape[0]] = True
        return gts, valid

    @staticmethod
    def assign(queries: Tensor, gts: Tensor, gt_valid: Tensor
               ) -> Tuple[Tensor, Tensor]:
        """Match every query (RCL Eq. 5).

        Args:
            queries (Tensor): ``(B, Q, 2)``.
            gts (Tensor): ``(B, N, 2)`` padded ground truth.
            gt_valid (Tensor): ``(B, N)`` bool.

        Returns:
            tuple: ``iou`` ``(B, Q)`` (0 without ground truth) and
            ``matched`` ``(B, Q, 2)`` (meaningless in a video without
            ground truth: a padding row).
        """
        b, q, _ = queries.shape
        if gts.shape[1] == 0:
            return queries.new_zeros(b, q), queries.detach().clone()
        iou = batched_segment_iou(queries.detach(), gts)  # (B, Q, N)
        iou = iou.masked_fill(~gt_valid[:, None, :], -1.0)
        best, idx = iou.max(dim=-1)
        # no overlap with any ground truth: the nearest one by its boundaries
        dist = (queries.detach()[:, :, None, :] - gts[:, None, :, :]).abs()
        dist = dist.sum(-1).masked_fill(~gt_valid[:, None, :], float('inf'))
        idx = torch.where(best > 0, idx, dist.argmin(dim=-1))
        matched = gts.gather(1, idx[..., None].expand(-1, -1, 2))
        return best.clamp(min=0), matched

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
