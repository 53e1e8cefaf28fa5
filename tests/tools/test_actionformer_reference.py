"""tools/analysis/actionformer_reference.py: the per-run share of boundaries
on the feature grid, which names a run whose regression channel died."""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mmtal_zoom.structures.time_grid import grid_to_seconds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import load_tool  # noqa: E402

FPS, STRIDE, FRAMES = 30.0, 4, 16


def results(rng, dead_start):
    out = {}
    for v in ('v0', 'v1', 'v2'):
        anchors = rng.integers(30, 500, 40).astype(float)
        d_start = 0.0 if dead_start else rng.uniform(0.5, 20, 40)
        seg = grid_to_seconds(
            np.stack([anchors - d_start, anchors + rng.uniform(0.5, 20, 40)],
                     1), FPS, STRIDE, FRAMES)
        out[v] = [dict(label='Jump', segment=[float(s), float(e)],
                       score=float(p))
                  for (s, e), p in zip(seg, rng.uniform(0, 1, 40))]
    return dict(results=out)


def test_dead_start_channel_is_reported_per_run(tmp_path):
    tool = load_tool('analysis/actionformer_reference')
    data = tmp_path / 'data'
    (data / 'features').mkdir(parents=True)
    db = {v: dict(subset='test', duration=100.0, fps=FPS, annotations=[
        dict(label='Jump', label_id=0, segment=[10.0, 15.0])])
        for v in ('v0', 'v1', 'v2')}
    (data / 'annotations.json').write_text(json.dumps(dict(
        database=db, generator=dict(feat_stride=STRIDE, num_frames=FRAMES))))
    np.save(data / 'features' / 'v0.npy', np.zeros((10, 8), np.float32))
    work = tmp_path / 'work'
    rng = np.random.default_rng(0)
    runs = []
    metric = dict(mAP={t: 0.3 for t in tool.TIOUS}, average_mAP=0.3)
    for side, seed, dead in (('official', 0, False), ('official', 1, True),
                             ('ours', 0, False), ('ours', 1, False)):
        run = work / f'thumos14_{side}_seed{seed}'
        run.mkdir(parents=True)
        (run / 'results_raw.json').write_text(
            json.dumps(results(rng, dead)))
        runs.append(dict(side=side, seed=seed, raw=metric))
        if side == 'official':  # no EMA detections written: no grid share
            runs[-1]['ema'] = metric
    args = argparse.Namespace(work_dir=str(work), recipe='thumos14',
                              data=str(data))
    alarms = tool.grid_alignment(args, runs)
    assert len(alarms) == 1
    assert alarms[0].startswith('official seed 1 (raw weights): 100.0 % of '
                                'its starts lie on the feature grid')
    rows = {line.split('|')[1].strip(): line.split('|')
            for line in tool.table(runs).splitlines()[2:]}
    official, ours = rows['official (raw weights)'], rows['ours (raw weights)']
    assert official[2].strip() == '0, 1'  # the seeds, in order
    seed0, seed1 = (float(x) for x in official[-3].split(' / '))
    assert seed0 < 2.0 and seed1 == 100.0  # starts on the grid, per seed
    assert all(float(x) < 2.0 for x in ours[-3].split(' / ') +
               ours[-2].split(' / '))
    assert rows['official (ema weights)'][-3].strip() == '-'
