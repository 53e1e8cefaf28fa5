"""How many detected boundaries lie exactly on the feature grid.

An anchor-free detector (ActionFormer and the heads built on it) places a
detection at ``anchor - d_start`` and ``anchor + d_end``, with the anchor on
the snippet grid and the distances ``d >= 0`` out of a ReLU. When one of the
two regression channels dies during training (its pre-activation is below 0
everywhere, so the ReLU passes no gradient and it never recovers), that
distance is 0 at every anchor and every detection starts (or ends) exactly on
a grid point. The mAP alone does not say why such a run is poor; this count
does, from the results file only (no weights needed). A healthy detector puts
about ``2 * tol`` of its boundaries on the grid by chance.

Own design (neither mmengine, mmaction2 nor the TAL codebases ship such a
check); the grid is the field's snippet convention of
:mod:`mmtal_zoom.structures.time_grid`.
"""
import math
from typing import Dict, List, Mapping, Sequence

import numpy as np

from ...structures.time_grid import seconds_to_grid

__all__ = ['boundaries_on_grid', 'dead_boundaries', 'DEAD_CHANNEL_SHARE']

# share of the counted starts (ends) on the grid from which the start (end)
# distance is called dead; healthy runs measured here put 0-2 % there, runs
# whose channel died 95-100 % (docs/robustness.md)
DEAD_CHANNEL_SHARE = 0.5


def boundaries_on_grid(results: Mapping[str, Sequence[Mapping]],
                       videos: Mapping[str, Mapping],
                       feat_stride: float,
                       num_frames: float,
                       top_k: int = 200,
                       tol: float = 1e-3) -> Dict[str, float]:
    """Share of the detected starts and ends that lie on the feature grid.

    Args:
        results (Mapping): ActivityNet-format results, ``video -> [dict(
            segment=[start, end] seconds, score, ...)]``.
        videos (Mapping): ``video -> dict(fps, duration)`` (the entries of an
            annotation file's ``database``); every video of ``results`` must
            be there.
        feat_stride (float): frames between snippets.
        num_frames (float): frames per snippet (a snippet is centred at frame
            ``i * feat_stride + num_frames / 2``).
        top_k (int): the ``top_k`` highest-scoring detections of each video
            are counted (the ones that decide the mAP).
        tol (float): a boundary is on the grid when its grid position
            (:func:`seconds_to_grid`) is within ``tol`` of an integer.

    Returns:
        dict: ``start`` and ``end``: the shares in ``[0, 1]`` (NaN when
        nothing was counted); ``num_start`` / ``num_end``: how many were
        counted. Boundaries clipped to the video (``start <= 0``, ``end >=
        duration``) are left out: clipping, not the regression, put them
        there.
    """
    if top_k < 1:
        raise ValueError(f'top_k must be >= 1, got {top_k}')
    on = dict(start=[], end=[])
    for video, dets in results.items():
        if video not in videos:
            raise ValueError(f'video {video!r} of the results is not in the '
                             'annotation file')
        info = videos[video]
        fps, duration = info.get('fps'), info.get('duration')
        if not fps or duration is None:
            raise ValueError(f'video {video!r}: the annotation file gives no '
                             '"fps" / "duration" for it')
        best = sorted(dets, key=lambda d: -float(d['score']))[:top_k]
        if not best:
            continue
        seg = np.asarray([d['segment'] for d in best], np.float64)
        grid = seconds_to_grid(seg, float(fps), feat_stride, num_frames)
        aligned = np.abs(grid - np.round(grid)) <= tol
        inside = np.stack([seg[:, 0] > tol / fps,
                           seg[:, 1] < float(duration) - tol / fps], axis=1)
        for j, name in enumerate(('start', 'end')):
            on[name].append(aligned[inside[:, j], j])
    out = {}
    for name, parts in on.items():
        flags = np.concatenate(parts) if parts else np.zeros(0, bool)
        out[name] = float(flags.mean()) if flags.size else math.nan
        out[f'num_{name}'] = int(flags.size)
    return out


def dead_boundaries(shares: Dict[str, float],
                    threshold: float = DEAD_CHANNEL_SHARE) -> List[str]:
    """``'start'`` / ``'end'`` for each boundary of a
    :func:`boundaries_on_grid` result at ``threshold`` or more on the grid:
    the regression channel that places it has died."""
    return [b for b in ('start', 'end')
            if not math.isnan(shares[b]) and shares[b] >= threshold]
