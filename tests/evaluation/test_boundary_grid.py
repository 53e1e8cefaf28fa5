"""boundaries_on_grid: the share of detected starts / ends on the feature
grid, which a dead regression channel drives to 1."""
import math

import numpy as np
import pytest

from mmtal_zoom.evaluation.functional import (boundaries_on_grid,
                                              dead_boundaries)
from mmtal_zoom.structures.time_grid import grid_to_seconds

FPS, STRIDE, FRAMES = 30.0, 4, 16


def videos(n=5, duration=100.0):
    return {f'v{i}': dict(fps=FPS, duration=duration) for i in range(n)}


def detections(rng, dead=None, n=50):
    """``n`` detections per video at anchors of the grid; the ``dead``
    boundary ('start' | 'end') sits exactly on its anchor, the other one a
    random (off-grid) distance away."""
    out = {}
    for v in videos():
        anchors = rng.integers(30, 600, n).astype(float)
        d_start = 0.0 if dead == 'start' else rng.uniform(0.5, 20, n)
        d_end = 0.0 if dead == 'end' else rng.uniform(0.5, 20, n)
        seg = grid_to_seconds(np.stack([anchors - d_start, anchors + d_end],
                                       1), FPS, STRIDE, FRAMES)
        out[v] = [dict(label='a', segment=[float(s), float(e)],
                       score=float(p))
                  for (s, e), p in zip(seg, rng.uniform(0, 1, n))]
    return out


@pytest.mark.parametrize('dead', ['start', 'end'])
def test_dead_channel_puts_its_boundaries_on_the_grid(dead):
    rng = np.random.default_rng(0)
    g = boundaries_on_grid(detections(rng, dead), videos(), STRIDE, FRAMES)
    alive = 'end' if dead == 'start' else 'start'
    assert g[dead] == 1.0
    assert g[alive] < 0.02
    assert g[f'num_{dead}'] == g[f'num_{alive}'] == 5 * 50
    assert dead_boundaries(g) == [dead]


def test_healthy_detector_is_near_chance():
    rng = np.random.default_rng(1)
    g = boundaries_on_grid(detections(rng), videos(), STRIDE, FRAMES)
    assert g['start'] < 0.02 and g['end'] < 0.02
    assert dead_boundaries(g) == []


def test_grid_is_the_fields_snippet_convention():
    """ActionFormer writes feature position t as (t * stride + frames / 2) /
    fps seconds; those lie on the grid, half a snippet off do not."""
    t = np.arange(3, 40)
    on = (t * STRIDE + FRAMES / 2) / FPS
    off = ((t + 0.5) * STRIDE + FRAMES / 2) / FPS
    res = dict(v0=[dict(segment=[float(a), float(b)], score=1.0)
                   for a, b in zip(on, off)])
    g = boundaries_on_grid(res, videos(1), STRIDE, FRAMES)
    assert g['start'] == 1.0 and g['end'] == 0.0


def test_clipped_boundaries_and_low_scores_are_not_counted():
    """A start clipped to 0 or an end clipped to the duration is there
    because of the clipping; only the top_k best detections count."""
    on_grid = float(grid_to_seconds(50, FPS, STRIDE, FRAMES))
    res = dict(v0=[dict(segment=[0.0, 100.0], score=0.99),
                   dict(segment=[0.0, 31.1], score=0.98),
                   dict(segment=[12.34, on_grid], score=0.9),
                   dict(segment=[on_grid, 80.0], score=0.1)])
    g = boundaries_on_grid(res, videos(1), STRIDE, FRAMES, top_k=3)
    assert (g['num_start'], g['num_end']) == (1, 2)
    assert g['start'] == 0.0 and g['end'] == 0.5
    g = boundaries_on_grid(res, videos(1), STRIDE, FRAMES, top_k=4)
    assert g['start'] == 0.5


def test_nothing_counted_is_nan():
    g = boundaries_on_grid(dict(v0=[]), videos(1), STRIDE, FRAMES)
    assert math.isnan(g['start']) and g['num_start'] == 0
    assert dead_boundaries(g) == []


@pytest.mark.parametrize('bad', ['unknown', 'no_fps'])
def test_bad_input_names_the_video(bad):
    vids = videos(1)
    if bad == 'no_fps':
        del vids['v0']['fps']
        res = dict(v0=[dict(segment=[1.0, 2.0], score=1.0)])
    else:
        res = dict(v9=[dict(segment=[1.0, 2.0], score=1.0)])
    with pytest.raises(ValueError, match="'v[09]'"):
        boundaries_on_grid(res, vids, STRIDE, FRAMES)
