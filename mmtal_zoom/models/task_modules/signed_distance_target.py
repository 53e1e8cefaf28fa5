"""Signed boundary-distance targets of Boundary Distance Regression (BDR).

Temporal Zoom Networks (Shihab et al., Fig. 2): the target is a signed distance
to the start boundary (end boundaries "detected similarly using distance to
the end boundary"), ``d(t) = t - b(t)``, which "has constant gradient
``|∇_t d| = 1`` and clear zero-crossings only at true boundaries". Only the
abstract, figure captions and theorem statements of the paper exist; the
details below are this project's design (docs/zoom.md, "BDR"), among them
that ``b(t)`` is the *nearest* start (end) of any action and that ``d`` is
truncated at ``R``.
"""
from typing import Tuple

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS


def signed_distance_to_nearest(positions: Tensor, boundaries: Tensor,
                               truncation: float) -> Tuple[Tensor, Tensor]:
    """``d(t) = t - b(t)`` with ``b(t)`` the nearest boundary, truncated.

    Args:
        positions (Tensor): ``(T,)`` grid positions of the time steps.
        boundaries (Tensor): ``(N,)`` boundary positions (grid units);
            may be empty.
        truncation (float): ``R``; ``d`` is clamped to ``[-R, R]``.

    Returns:
        tuple: ``d`` ``(T,)`` (``+R`` everywhere when there is no boundary)
        and ``nearest`` ``(T,)`` long, the index of ``b(t)`` in
        ``boundaries`` (``-1`` when there is none).
    """
    if boundaries.numel() == 0:
        return (positions.new_full(positions.shape, float(truncation)),
                torch.full(positions.shape, -1, dtype=torch.long,
                           device=positions.device))
    diff = positions[:, None] - boundaries[None, :].to(positions.dtype)
    nearest = diff.abs().argmin(dim=1)  # ties: the first (earliest) one
    d = diff.gather(1, nearest[:, None])[:, 0]
    return d.clamp(-truncation, truncation), nearest


@TASK_UTILS.register_module()
class SignedDistanceTarget:
    """Per-step targets ``[d_start(t), d_end(t)]`` and their loss weights.

    * Every start (end) of every ground-truth instance is a start (end)
      boundary, whatever its class: overlapping actions give several starts,
      and the field switches from one to the next half-way between them
      (a descending jump, never a zero crossing). Adjacent actions
      (``e_1 == s_2``) put an end and a start at the same position, one in
      each field.
    * ``|d|`` is truncated at ``truncation`` (``R``): far from every boundary
      the target only says on which side it lies; :class:`BDRHead` clamps its
      prediction to ``[-R, R]`` before the loss, so overshooting a truncated
      target is not penalised (a one-sided loss there).
    * Video / crop edges: a boundary at or beyond the first valid position
      (``b <= 0``) or beyond the last one (``b > L - 1``) cannot produce an
      observable zero crossing, and after random truncation it is usually
      the crop edge rather than a real boundary (``RandomTruncateTAL`` clips
      kept instances to the window). Time steps whose nearest boundary is
      such an *unobserved* one get weight 0; the field itself still uses the
      true geometry.
    * Padded time steps (``t >= L``) get weight 0.

    Args:
        truncation (float): ``R`` in grid units of the input sequence.
    """

    def __init__(self, truncation: float = 16.0):
        if truncation <= 0:
            raise ValueError(
                f'truncation must be > 0, got {truncation}.')
        self.truncation = float(truncation)

    def get_targets(self, positions: Tensor, valid: Tensor,
                    gt_segments: Tensor) -> Tuple[Tensor, Tensor]:
        """Targets of one video.

        Args:
            positions (Tensor): ``(T,)`` grid positions of the level's steps
                (``arange(T) * stride``).
            valid (Tensor): ``(T,)`` bool validity mask.
            gt_segments (Tensor): ``(N, 2)`` ``[start, end]`` grid units.

        Returns:
            tuple: ``targets`` ``(T, 2)`` (``[d_start, d_end]``, grid units,
            in ``[-R, R]``) and ``weights`` ``(T, 2)`` in ``{0, 1}``.
        """
        if gt_segments.numel() == 0:
            gt_segments = gt_segments.reshape(0, 2)
        if gt_segments.dim() != 2 or gt_segments.shape[-1] != 2:
            raise ValueError('gt_segments must be (N, 2) [start, end] in '
                             f'grid units, got {tuple(gt_segments.shape)}.')
        positions = positions.float()
        segs = gt_segments.to(positions.device, positions.dtype)
        if valid.any():
            first = positions[valid].min()
            last = positions[valid].max()
        else:
            first = last = positions.new_tensor(0.0)
        targets, weights = [], []
        for k in range(2):  # 0: starts, 1: ends
            bounds = segs[:, k]
            d, nearest = signed_distance_to_nearest(positions, bounds,
                                                    self.truncation)
            observed = (bounds > first) & (bounds <= last)
            w = valid.to(positions.dtype)
            if bounds.numel() > 0:
                w = w * observed[nearest.clamp(min=0)].to(positions.dtype)
            targets.append(d)
            weights.append(w)
        return torch.stack(targets, dim=-1), torch.stack(weights, dim=-1)
