"""Features at continuous temporal coordinates: 1-D interpolation and
RoI-align.

Coordinates are *normalised*: ``x`` in ``[0, 1]`` spans the whole feature
sequence of ``T`` snippets (MMAction2's BMN convention for ActivityNet
features rescaled to 100 points), and snippet ``t`` sits at its centre
``(t + 0.5) / T``. A position ``x`` therefore reads the fractional snippet
index ``u = x * T - 0.5`` and is linearly interpolated between
``floor(u)`` and ``floor(u) + 1``; at ``x = (t + 0.5) / T`` the result is
exactly snippet ``t``.

Written here because neither torch nor mmcv has a 1-D RoI-align: mmcv's
``RoIAlign`` is 2-D and a compiled op (absent from mmcv-lite), and
``F.grid_sample`` materialises every sample point per channel before
averaging, ``(B, C, R, bins * points)``, which is several times the memory of
the interpolation-matrix form used below. The matrix form is BMN's own
"boundary-matching layer" (a ``(T, N)`` sampling-weight matrix times the
features), built on the fly for arbitrary (continuous) segments instead of
precomputed for the 100 x 100 grid.
"""
from typing import Tuple

import torch
from torch import Tensor


def _check_feats(feats: Tensor) -> Tuple[int, int, int]:
    if feats.dim() != 3:
        raise ValueError(
            f'features must be (B, C, T), got {tuple(feats.shape)}')
    return tuple(feats.shape)


def interpolate_1d(feats: Tensor, positions: Tensor,
                   padding: str = 'border') -> Tensor:
    """Linear interpolation of ``feats`` at continuous normalised positions.

    Args:
        feats (Tensor): ``(B, C, T)``.
        positions (Tensor): ``(B, P)`` normalised coordinates (see module
            docstring; snippet ``t`` is at ``(t + 0.5) / T``).
        padding (str): ``'border'`` repeats the first / last snippet outside
            ``[0.5 / T, 1 - 0.5 / T]``; ``'zeros'`` reads zeros beyond the
            sequence (BMN's sampling mask does the same).

    Returns:
        Tensor: ``(B, C, P)`` on the device and dtype of ``feats``.
    """
    b, c, t = _check_feats(feats)
    if positions.dim() != 2 or positions.shape[0] != b:
        raise ValueError(f'positions must be (B={b}, P), got '
                         f'{tuple(positions.shape)}')
    if padding not in ('border', 'zeros'):
        raise ValueError(
            f"padding must be 'border' or 'zeros', got {padding!r}")
    u = positions.to(feats.dtype) * t - 0.5
    if padding == 'border':
        u = u.clamp(0, t - 1)
    lo = torch.floor(u)
    frac = u - lo
    lo = lo.long()
    hi = lo + 1
    out = feats.new_zeros(b, c, positions.shape[1])
    for idx, w in ((lo, 1 - frac), (hi, frac)):
        valid = (idx >= 0) & (idx <= t - 1)
        gathered = feats.gather(
            2, idx.clamp(0, t - 1)[:, None, :].expand(b, c, -1))
        out = out + gathered * (w * valid.to(w.dtype))[:, None, :]
    return out


def roi_align_weights(rois: Tensor, num_steps: int, num_bins: int,
                      points_per_bin: int = 3) -> Tensor:
    """The sampling matrix of :func:`temporal_roi_align` (BMN's sample mask).

    Args:
        rois (Tensor): ``(B, R, 2)`` normalised ``[start, end]``.
        num_steps (int): ``T``, length of the feature sequence.
        num_bins (int): bins per RoI.
        points_per_bin (int): interpolated points averaged in each bin.

    Returns:
        Tensor: ``(B, R * num_bins, T)``; row ``r * num_bins + k`` holds the
        weights that average bin ``k`` of RoI ``r`` out of the ``T`` snippets
        (zero beyond the sequence, as BMN).
    """
    if rois.dim() != 3 or rois.shape[-1] != 2:
        raise ValueError(f'rois must be (B, R, 2), got {tuple(rois.shape)}')
    b, r, _ = rois.shape
    n = num_bins * points_per_bin
    # BMN's layout: n points evenly spaced from start to end inclusive.
    u = _sample_positions(rois, num_steps, num_bins, points_per_bin)
    lo = torch.floor(u)
    frac = u - lo
    lo = lo.long()
    row = torch.arange(r * num_bins, device=rois.device).view(r, num_bins, 1)
    row = row.expand(r, num_bins, points_per_bin).reshape(1, r, n)
    weights = rois.new_zeros(b, r * num_bins * num_steps)
    for idx, w in ((lo, 1 - frac), (lo + 1, frac)):
        valid = (idx >= 0) & (idx <= num_steps - 1)
        flat = row * num_steps + idx.clamp(0, num_steps - 1)
        src = w * valid.to(w.dtype) / points_per_bin
        weights.scatter_add_(1, flat.reshape(b, -1), src.reshape(b, -1))
    return weights.view(b, r * num_bins, num_steps)


def _sample_positions(rois: Tensor, num_steps: int, num_bins: int,
                      points_per_bin: int):
    """Fractional snippet indices ``u`` ``(B, R, bins * points)`` of BMN's
    evenly spaced sample points (start to end inclusive)."""
    n = num_bins * points_per_bin
    steps = torch.arange(n, device=rois.device, dtype=rois.dtype)
    steps = steps / max(n - 1, 1)
    start, end = rois[..., 0:1], rois[..., 1:2]
    return (start + (end - start) * steps) * num_steps - 0.5


def _roi_align_gather(feats: Tensor, rois: Tensor, num_bins: int,
                      points_per_bin: int) -> Tensor:
    """Gather form of :func:`temporal_roi_align` (memory ``R * bins *
    points * 2 * C`` instead of ``R * bins * T``: the choice for long
    sequences)."""
    b, c, t = feats.shape
    r = rois.shape[1]
    u = _sample_positions(rois, t, num_bins, points_per_bin)  # (B, R, n)
    lo = torch.floor(u)
    frac = u - lo
    lo = lo.long()
    feats_t = feats.transpose(1, 2)  # (B, T, C)
    out = 0
    for idx, w in ((lo, 1 - frac), (lo + 1, frac)):
        valid = (idx >= 0) & (idx <= t - 1)
        flat = idx.clamp(0, t - 1).reshape(b, -1, 1).expand(-1, -1, c)
        val = feats_t.gather(1, flat).view(b, r, num_bins, points_per_bin, c)
        weight = (w * valid.to(w.dtype)).view(b, r, num_bins, points_per_bin,
                                              1)
        out = out + (val * weight).sum(3)
    return out / points_per_bin


def temporal_roi_align(feats: Tensor, rois: Tensor, num_bins: int,
                       points_per_bin: int = 3, mode: str = 'auto') -> Tensor:
    """1-D RoI-align: ``num_bins`` bin averages of linearly interpolated
    features over each continuous segment.

    Args:
        feats (Tensor): ``(B, C, T)``.
        rois (Tensor): ``(B, R, 2)`` normalised ``[start, end]`` (may extend
            beyond ``[0, 1]``; outside the sequence reads zeros).
        num_bins (int): bins per RoI.
        points_per_bin (int): interpolated points averaged per bin (BMN's
            ``num_samples_per_bin``).
        mode (str): ``'matrix'`` (BMN's sampling-matrix product, memory
            ``R * bins * T``), ``'gather'`` (memory ``R * bins * points * 2
            * C``) or ``'auto'`` (the smaller). Same result.

    Returns:
        Tensor: ``(B, R, num_bins, C)``. Differentiable in ``feats`` (the
        coordinates are treated as constants).
    """
    b, c, t = _check_feats(feats)
    if rois.shape[0] != b:
        raise ValueError(f'rois batch {rois.shape[0]} != features batch {b}')
    if mode not in ('auto', 'matrix', 'gather'):
        raise ValueError(f"mode must be 'auto', 'matrix' or 'gather', got "
                         f'{mode!r}')
    rois = rois.detach().to(feats.dtype)
    if mode == 'auto':
        mode = 'matrix' if t <= 2 * points_per_bin * c else 'gather'
    if mode == 'gather':
        return _roi_align_gather(feats, rois, num_bins, points_per_bin)
    weights = roi_align_weights(rois, t, num_bins, points_per_bin)
    out = torch.bmm(weights, feats.transpose(1, 2))  # (B, R * bins, C)
    return out.view(b, rois.shape[1], num_bins, c)


def segment_roi_features(x: Tensor, queries: Tensor, boundary_ratio: float,
                         num_boundary_bins: int, num_inner_bins: int,
                         points_per_bin: int) -> Tensor:
    """RCL's sampled features of segment queries (the feature part of its
    continuous anchoring representation, Eq. 4): RoI-align of the start
    region and the end region (``boundary_ratio`` x the length either side
    of each boundary, ``num_boundary_bins`` bins each), then of the interior
    (``num_inner_bins`` bins).

    Shapes: ``x (B, C, T)``, ``queries (B, Q, 2)`` normalised ->
    ``(B, Q, (2 num_boundary_bins + num_inner_bins) C)``: start and end
    regions first, then the interior.
    """
    b, q, _ = queries.shape
    s, e = queries[..., 0], queries[..., 1]
    half = boundary_ratio * (e - s)
    boundary = torch.stack(
        [torch.stack([s - half, s + half], -1),
         torch.stack([e - half, e + half], -1)], dim=2).view(b, 2 * q, 2)
    f_bound = temporal_roi_align(x, boundary, num_boundary_bins,
                                 points_per_bin)
    f_inner = temporal_roi_align(x, queries, num_inner_bins, points_per_bin)
    return torch.cat([f_bound.reshape(b, q, -1), f_inner.reshape(b, q, -1)],
                     dim=-1)
