"""The promise that configs run unchanged under our tools, MMAction2's own
tools and PyTorch DDP (2 CPU processes, gloo), and that tools/test.py
reproduces the metric printed during training."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mmaction

REPO = Path(__file__).resolve().parents[2]
MMACTION_TOOLS = Path(mmaction.__file__).parent / '.mim' / 'tools'


def run(args, cwd=REPO, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable] + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def torchrun(script, args, nproc=2, port=29531):
    return run(['-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
                f'--master_port={port}', script] + list(args) +
               ['--launcher', 'pytorch'])


def last_metrics(work_dir, key='tal/average_mAP'):
    """The last metrics dict that mmengine logged under ``work_dir``
    (``<timestamp>/vis_data/scalars.json`` during training,
    ``<timestamp>/<timestamp>.json`` for tools/test.py)."""
    found = None
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json')) + sorted(
        Path(work_dir).glob('*/*.json'))
    for f in files:
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            if key in rec:
                found = rec
    assert found is not None, f'no {key} logged under {work_dir}'
    return {k: v for k, v in found.items() if k.startswith('tal/')}


@pytest.fixture(scope='module')
def trained(tiny_baseline_config, tmp_path_factory):
    work = tmp_path_factory.mktemp('train')
    run(['tools/train.py', tiny_baseline_config, '--work-dir', work,
         '--seed', '0', '--deterministic'])
    return tiny_baseline_config, work


@pytest.mark.slow
def test_train_then_test_reproduces_the_logged_metric(trained, tmp_path):
    cfg, work = trained
    train_metrics = last_metrics(work)
    assert 'tal/mAP@0.5' in train_metrics
    ckpt = work / 'epoch_4.pth'
    out = tmp_path / 'results.json'
    # the training run evaluated on 'val'; so does this test run
    run(['tools/test.py', cfg, ckpt, '--work-dir', tmp_path / 'test',
         '--out', out, '--cfg-options', 'test_dataloader.dataset.subset=val'])
    test_metrics = last_metrics(tmp_path / 'test')
    assert test_metrics == pytest.approx(train_metrics, abs=1e-9,
                                         nan_ok=True)
    results = json.loads(out.read_text())['results']
    assert results and all(
        set(p) == {'label', 'segment', 'score'} for v in results.values()
        for p in v)


@pytest.mark.slow
def test_checkpoint_loads_under_mmactions_own_test_tool(trained, tmp_path):
    cfg, work = trained
    proc = run([MMACTION_TOOLS / 'test.py', cfg, work / 'epoch_4.pth',
                '--work-dir', tmp_path, '--cfg-options',
                'test_dataloader.dataset.subset=val'])
    assert last_metrics(tmp_path) == pytest.approx(last_metrics(work),
                                                   abs=1e-9, nan_ok=True)
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_config_trains_under_mmactions_own_train_tool(tiny_baseline_config,
                                                      tmp_path):
    run([MMACTION_TOOLS / 'train.py', tiny_baseline_config, '--work-dir',
         tmp_path, '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_begin=1'])
    assert (tmp_path / 'epoch_1.pth').exists()
    assert 'tal/mAP@0.5' in last_metrics(tmp_path)


@pytest.mark.slow
def test_two_process_ddp_trains_and_evaluates_like_one(trained, tmp_path):
    """2 gloo processes: training runs and evaluates; evaluating one
    checkpoint with 1 and with 2 processes gives identical metrics."""
    cfg, work = trained
    torchrun('tools/train.py', [cfg, '--work-dir', tmp_path / 'ddp',
                                '--seed', '0'])
    assert (tmp_path / 'ddp' / 'epoch_4.pth').exists()
    assert 'tal/mAP@0.5' in last_metrics(tmp_path / 'ddp')

    ckpt = work / 'epoch_4.pth'
    run(['tools/test.py', cfg, ckpt, '--work-dir', tmp_path / 'one'])
    torchrun('tools/test.py', [cfg, ckpt, '--work-dir', tmp_path / 'two'],
             port=29532)
    one, two = last_metrics(tmp_path / 'one'), last_metrics(tmp_path / 'two')
    assert one == pytest.approx(two, abs=1e-12, nan_ok=True)
