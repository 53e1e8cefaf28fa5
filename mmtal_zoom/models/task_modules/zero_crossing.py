"""Boundaries from a signed-distance field: zero crossings and snapping.

Boundary Distance Regression (Temporal Zoom Networks, Shihab et al., Fig. 2)
locates a boundary where the regressed signed distance ``d(t) = t - b(t)``
crosses zero from negative to positive. The crossing is placed between the
two time steps by linear interpolation (sub-snippet precision). Descending
sign changes are the half-way jumps between two boundaries of the same
field and are never boundaries.

Everything here is batched, vectorised and stays on the inputs' device.
"""
from typing import List, Tuple

import torch
from torch import Tensor


def zero_crossings(dist: Tensor, mask: Tensor,
                   min_slope: float = 0.0) -> Tensor:
    """Ascending zero crossings of a distance field, one slot per cell.

    Cell ``t`` is the interval ``[t, t + 1]`` (in steps). It holds a crossing
    when ``d[t] < 0 <= d[t + 1]``, both steps are valid and the slope
    ``d[t + 1] - d[t]`` is at least ``min_slope``; the crossing sits at
    ``t + (-d[t]) / (d[t + 1] - d[t])`` (linear interpolation), in
    ``(t, t + 1]``.

    Args:
        dist (Tensor): ``(B, T)`` signed distances (any unit; the slope test
            uses the same unit per step).
        mask (Tensor): ``(B, T)`` bool validity.
        min_slope (float): minimum rise per step; the ideal field rises by
            one stride per step, noise crossings are flatter.

    Returns:
        Tensor: ``(B, T)`` crossing positions in steps, NaN where a cell
        holds none (the last cell never does).
    """
    if dist.shape != mask.shape or dist.dim() != 2:
        raise ValueError('dist and mask must both be (B, T); got '
                         f'{tuple(dist.shape)} and {tuple(mask.shape)}.')
    out = torch.full_like(dist, float('nan'))
    if dist.shape[1] < 2:
        return out
    d0, d1 = dist[:, :-1], dist[:, 1:]
    rise = d1 - d0
    ok = (d0 < 0) & (d1 >= 0) & mask[:, :-1] & mask[:, 1:] & (
        rise >= max(min_slope, 0.0)) & (rise > 0)
    t = torch.arange(dist.shape[1] - 1, device=dist.device, dtype=dist.dtype)
    frac = (-d0) / rise.clamp(min=torch.finfo(dist.dtype).tiny)
    out[:, :-1] = torch.where(ok, t + frac, out[:, :-1])
    return out


def crossings_to_list(crossings: Tensor) -> List[Tensor]:
    """``(B, T)`` crossing slots -> per-video sorted 1-D tensors."""
    return [c[~torch.isnan(c)] for c in crossings]


def nearest_zero_crossing(query: Tensor,
                          crossings: Tensor) -> Tuple[Tensor, Tensor]:
    """For every query position, the nearest crossing of the same video.

    Exact and vectorised: cell ``i = floor(q)`` holds at most one crossing;
    crossings of cells ``< i`` lie left of ``q`` (the closest is their
    running maximum, from ``cummax``), those of cells ``> i`` right of it
    (closest: the reversed running minimum). Three candidates per query.

    Args:
        query (Tensor): ``(B, N)`` positions in steps (any real value).
        crossings (Tensor): ``(B, T)`` from :func:`zero_crossings`.

    Returns:
        tuple: ``nearest`` ``(B, N)`` crossing positions and ``distance``
        ``(B, N)`` (``inf`` where the video has no crossing).
    """
    b, t = crossings.shape
    inf = torch.tensor(float('inf'), device=crossings.device,
                       dtype=crossings.dtype)
    has = ~torch.isnan(crossings)
    left_vals = torch.where(has, crossings, -inf)
    right_vals = torch.where(has, crossings, inf)
    prev_max = left_vals.cummax(dim=1).values  # max over cells <= i
    next_min = right_vals.flip(1).cummin(dim=1).values.flip(1)  # cells >= i
    neg = torch.full((b, 1), -float('inf'), device=crossings.device,
                     dtype=crossings.dtype)
    pos = torch.full((b, 1), float('inf'), device=crossings.device,
                     dtype=crossings.dtype)
    prev_max = torch.cat([neg, prev_max], dim=1)  # index i -> cells <= i-1
    next_min = torch.cat([next_min, pos], dim=1)  # index i+1 -> cells >= i+1
    cell = torch.cat([right_vals, pos], dim=1)
    q = query.to(crossings.dtype)
    i = q.floor().clamp(0, t - 1).long()
    cands = torch.stack([
        prev_max.gather(1, i),  # prev_max padded: position i = cells <= i-1
        cell.gather(1, i),
        next_min.gather(1, i + 1),
    ], dim=-1)  # (B, N, 3)
    dist = (cands - q[..., None]).abs()
    dist = torch.where(torch.isnan(dist), inf, dist)
    best, arg = dist.min(dim=-1)
    nearest = cands.gather(-1, arg[..., None])[..., 0]
    return nearest, best


def snap_to_zero_crossings(segments: Tensor, start_crossings: Tensor,
                           end_crossings: Tensor, stride: float,
                           window: float) -> Tuple[Tensor, Tensor]:
    """Move segment boundaries to the nearest BDR zero crossing.

    A start (end) moves to the nearest start (end) crossing when that lies
    within ``window`` grid units; otherwise it is kept. A segment whose
    snapped start would not precede its snapped end keeps both originals.

    Args:
        segments (Tensor): ``(B, ..., 2)`` grid units of the input sequence
            (e.g. ``(B, P, 2)`` or per-class ``(B, P, K, 2)``).
        start_crossings, end_crossings (Tensor): ``(B, T)`` from
            :func:`zero_crossings` on a level of stride ``stride``.
        stride (float): grid units per step of that level.
        window (float): maximum move, grid units.

    Returns:
        tuple: snapped segments (same shape) and a bool ``(B, ..., 2)``
        telling which boundaries moved.
    """
    b = segments.shape[0]
    flat = segments.reshape(b, -1, 2)
    moved = []
    snapped = []
    for k, cross in ((0, start_crossings), (1, end_crossings)):
        q = flat[..., k] / stride
        nearest, dist = nearest_zero_crossing(q, cross)
        ok = dist * stride <= window
        snapped.append(torch.where(ok, nearest * stride, flat[..., k]))
        moved.append(ok)
    new = torch.stack(snapped, dim=-1)
    ordered = new[..., 0] < new[..., 1]
    new = torch.where(ordered[..., None], new, flat)
    moved = torch.stack(moved, dim=-1) & ordered[..., None]
    return new.view_as(segments), moved.view(segments.shape)


def crossing_pairs(start_crossings: Tensor, end_crossings: Tensor,
                   max_length: float) -> List[Tensor]:
    """Segments formed from the zero crossings alone (own design: the paper
    names zero crossings as the boundaries, not how to pair them): every
    start crossing ``s`` with every end crossing ``e`` such that
    ``0 < e - s <= max_length``.

    Args:
        start_crossings, end_crossings (Tensor): ``(B, T)`` from
            :func:`zero_crossings` (steps, NaN where none).
        max_length (float): longest segment, steps.

    Returns:
        list[Tensor]: per video ``(P_i, 2)`` segments in steps.
    """
    out = []
    for s, e in zip(crossings_to_list(start_crossings),
                    crossings_to_list(end_crossings)):
        length = e[None, :] - s[:, None]  # (S, E)
        i, j = ((length > 0) & (length <= max_length)).nonzero(as_tuple=True)
        out.append(torch.stack([s[i], e[j]], dim=-1))
    return out


def segment_mean_scores(probs: Tensor, positions: Tensor,
                        segments: Tensor) -> Tensor:
    """Mean class probability of the points inside each segment.

    Args:
        probs (Tensor): ``(N, K)`` per-point class probabilities.
        positions (Tensor): ``(N,)`` ascending point positions.
        segments (Tensor): ``(P, 2)`` in the positions' unit.

    Returns:
        Tensor: ``(P, K)``; a segment holding no point takes the point
        nearest to its centre.
    """
    csum = torch.cat([probs.new_zeros(1, probs.shape[1]),
                      probs.cumsum(0)])
    lo = torch.searchsorted(positions, segments[:, 0].contiguous())
    hi = torch.searchsorted(positions, segments[:, 1].contiguous(),
                            right=True)
    count = (hi - lo).clamp(min=0)
    mean = (csum[hi] - csum[lo]) / count.clamp(min=1)[:, None]
    mid = segments.mean(-1).contiguous()
    right = torch.searchsorted(positions, mid).clamp(max=positions.numel() - 1)
    left = (right - 1).clamp(min=0)
    nearer_left = (mid - positions[left]).abs() < (positions[right] -
                                                   mid).abs()
    centre = torch.where(nearer_left, left, right)
    return torch.where(count[:, None] > 0, mean, probs[centre])


def segment_centre_scores(level_probs: List[Tensor], strides: List[float],
                          segments: Tensor) -> Tensor:
    """The class probability at each segment's centre, best over levels.

    A dense head with centre sampling (ActionFormer) trains the points near
    an action's centre, on the pyramid level whose regression range fits
    the action's size, to score it; inside a long action the finest level's
    points are trained towards 0. So a segment is scored, per class, by the
    highest probability any level gives at its point nearest the centre.

    Args:
        level_probs (list[Tensor]): per level ``(N_l, K)`` probabilities of
            the valid points (point ``i`` at ``i * stride_l``).
        strides (list[float]): grid units per point of each level.
        segments (Tensor): ``(P, 2)`` grid units.

    Returns:
        Tensor: ``(P, K)``.
    """
    centre = segments.mean(-1)
    best = None
    for probs, stride in zip(level_probs, strides):
        if probs.shape[0] == 0:
            continue
        idx = (centre / stride).round().long().clamp(0, probs.shape[0] - 1)
        score = probs[idx]
        best = score if best is None else torch.maximum(best, score)
    if best is None:
        raise ValueError('segment_centre_scores: no valid point on any level')
    return best
