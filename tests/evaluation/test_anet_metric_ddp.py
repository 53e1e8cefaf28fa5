"""MMAction2's ANetMetric (AR@AN, AUC) is correct under DDP with mmtal_zoom.

mmaction2 1.2.0 keeps each video's ground truth on the process that
evaluated it and gathers only the predictions; ``mmtal_zoom.compat`` carries
the ground truth inside the gathered results (see its section 5).
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaction.evaluation.metrics import ANetMetric
from mmaction.structures import ActionDataSample
from mmtal_zoom import compat

REPO = Path(__file__).resolve().parents[2]


def fake_batch(i, rng):
    name = f'v_video{i}'
    duration = float(rng.uniform(50, 150))
    anns = []
    for _ in range(int(rng.integers(1, 4))):
        s = float(rng.uniform(0, duration - 10))
        anns.append(dict(segment=[s, s + float(rng.uniform(2, 10))],
                         label='act'))
    sample = ActionDataSample()
    sample.set_metainfo(dict(video_name=name, annotations=anns,
                             duration_second=duration))
    proposals = []
    for _ in range(30):
        s = float(rng.uniform(0, duration - 5))
        proposals.append(dict(segment=[s, s + float(rng.uniform(1, 12))],
                              score=float(rng.random())))
    return dict(data_samples=[sample]), [dict(video_name=name,
                                              proposal_list=proposals)]


def make_metric(tmp_path, tag):
    return ANetMetric(metric_type='AR@AN', dump_config=dict(
        out=str(tmp_path / f'{tag}.json'), output_format='json'))


def test_patch_is_active_and_idempotent():
    assert compat.apply()['anet_metric_ddp'] is True
    assert getattr(ANetMetric.process, '_mmtal_zoom_ddp', False)
    process = ANetMetric.process
    compat.apply()
    assert ANetMetric.process is process


def test_gathered_results_carry_the_ground_truth(tmp_path):
    """Two simulated ranks, each processing half of the videos, then rank 0
    computing on the gathered results, as mmengine's BaseMetric.evaluate
    does: the numbers equal one process evaluating everything."""
    rng = np.random.default_rng(0)
    batches = [fake_batch(i, rng) for i in range(9)]
    single = make_metric(tmp_path, 'single')
    for data, preds in batches:
        single.process(data, preds)
    ref = single.compute_metrics(single.results)

    ranks = [make_metric(tmp_path, 'rank0'), make_metric(tmp_path, 'rank1')]
    for i, (data, preds) in enumerate(batches):
        ranks[i % 2].process(data, preds)
    # the upstream bug: rank 0 only holds its own share of the ground truth
    assert len(ranks[0].ground_truth) == 5
    gathered = [r for pair in zip(ranks[0].results, ranks[1].results)
                for r in pair] + ranks[0].results[len(ranks[1].results):]
    got = ranks[0].compute_metrics(gathered)
    assert len(ranks[0].ground_truth) == 9
    assert got.keys() == ref.keys()
    for key in ref:
        assert got[key] == pytest.approx(ref[key], abs=1e-12), key
    # the dumped JSON is the stock one (no ground truth leaks into it)
    dumped = json.load(open(tmp_path / 'rank0.json'))
    assert set(dumped['results']) == {f'video{i}' for i in range(9)}
    assert all(set(p) == {'segment', 'score'}
               for v in dumped['results'].values() for p in v)
    # the model's output dicts are left untouched
    assert all(set(preds[0]) == {'video_name', 'proposal_list'}
               for _, preds in batches)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _last_metrics(work_dir):
    # mmengine's LoggerHook: <work_dir>/<timestamp>/<timestamp>.json (test)
    logs = sorted(p for p in Path(work_dir).glob('*/*.json')
                  if p.stem == p.parent.name)
    assert logs, f'no metrics log under {work_dir}'
    lines = [json.loads(line) for line in logs[-1].read_text().splitlines()]
    return [d for d in lines if 'auc' in d][-1]


@pytest.mark.slow
def test_one_and_two_gloo_processes_give_identical_ar_and_auc(tmp_path):
    """``tools/test.py`` with 1 process and ``torchrun --nproc_per_node=2
    ... --launcher pytorch`` (gloo on CPU) on one checkpoint."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmaction.registry import MODELS
    from mmtal_zoom.datasets.generators.anet_format import (
        planted_anet_database, write_anet_dataset)

    # 7 test videos: odd, so the distributed sampler pads one
    database, features = planted_anet_database(
        num_videos=7, feat_dim=400, seed=3, subsets=('test', ))
    data = write_anet_dataset(str(tmp_path / 'data'), database, features)
    rcl_config = (REPO / 'configs' / 'rcl' /
                  'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py')
    cfg = Config.fromfile(str(rcl_config))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)

    # a user config inheriting the RCL config, pointing at the tiny data
    cfg_path = tmp_path / 'bmn_rcl_tiny.py'
    cfg_path.write_text(
        f"_base_ = [{str(rcl_config)!r}]\n"
        f"test_dataloader = dict(dataset=dict(ann_file={data['test']!r}, "
        f"data_prefix=dict(video={data['feature_dir']!r})))\n"
        # faster inference, the same for both runs
        "model = dict(rcl_head=dict(test_cfg=dict(refine_topk=200)))\n")
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get(
                   'PYTHONPATH', ''))
    metrics = {}
    for nproc in (1, 2):
        wd = tmp_path / f'wd{nproc}'
        if nproc == 1:
            cmd = [sys.executable, str(REPO / 'tools' / 'test.py')]
            tail = []
        else:
            cmd = [sys.executable, '-m', 'torch.distributed.run',
                   '--nproc_per_node=2', f'--master_port={_free_port()}',
                   str(REPO / 'tools' / 'test.py')]
            tail = ['--launcher', 'pytorch']
        proc = subprocess.run(
            cmd + [str(cfg_path), str(ckpt), '--work-dir', str(wd)] + tail,
            cwd=str(tmp_path), env=env,
            capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        metrics[nproc] = _last_metrics(wd)
        dumped = json.load(open(
            tmp_path / 'work_dirs/bmn_rcl_anet_embedded/results.json'))
        assert len(dumped['results']) == 7
    for key in ('auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'):
        assert metrics[2][key] == pytest.approx(metrics[1][key],
                                                abs=1e-9), (key, metrics)
    assert metrics[1]['AR@100'] > 0
