"""Checkpoints through the command-line tools (#8).

* our ``tools/train.py`` / ``tools/test.py`` on runner checkpoints, and the
  ``--trust-checkpoint`` / ``--trust-checkpoint-global`` opt-in for one
  foreign file (a toy model registered by a small module the config imports);
* MMAction2's own ``mmaction/.mim/tools/train.py`` and ``test.py`` on stock
  BMN, with only ``custom_imports = dict(imports=['mmtal_zoom'])`` added to
  the config: the checkpoint the runner writes loads again for testing.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

TOY_MODULE = '''
"""Toy components for tests/tools/test_checkpoint_tools.py."""
import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn

from mmengine.hooks import Hook

from mmaction.registry import DATASETS, HOOKS, METRICS, MODELS


@DATASETS.register_module(force=True)
class CkptToyDataset(BaseDataset):
    METAINFO = dict(classes=('neg', 'pos'))

    def __init__(self, n=16, **kwargs):
        self.n = n
        super().__init__(ann_file='', serialize_data=False, **kwargs)

    def load_data_list(self):
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(self.n, 4, generator=gen)
        y = (x.sum(1, keepdim=True) > 0).float()
        return [dict(inputs=x[i], labels=y[i]) for i in range(self.n)]


@MODELS.register_module(force=True)
class CkptToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, labels, mode='tensor', sample_idx=None):
        x, y = torch.stack(inputs), torch.stack(labels)
        out = self.fc(x)
        if mode == 'loss':
            return dict(
                loss=nn.functional.binary_cross_entropy_with_logits(out, y))
        return [dict(pred=o, gt=t) for o, t in zip(out, y)]


@MODELS.register_module(force=True)
class CkptToyBigModel(CkptToyModel):
    """1 MB of weights (2 MB checkpoints with EMA)."""

    def __init__(self):
        super().__init__()
        self.register_buffer('ballast', torch.zeros(250000))


@HOOKS.register_module(force=True)
class FileSizeLimitHook(Hook):
    """A full disk: before the checkpoint of epoch ``epoch`` is saved, no
    file of this process may grow beyond ``limit`` bytes (RLIMIT_FSIZE;
    SIGXFSZ ignored, so write() fails with EFBIG)."""
    priority = 'NORMAL'

    def __init__(self, limit, epoch):
        self.limit, self.epoch = limit, epoch

    def after_train_epoch(self, runner):
        import resource
        import signal
        if runner.epoch + 1 == self.epoch:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (self.limit, resource.RLIM_INFINITY))


@METRICS.register_module(force=True)
class CkptToyAccuracy(BaseMetric):
    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        self.results.extend(
            float((d['pred'] > 0) == (d['gt'] > 0.5)) for d in data_samples)

    def compute_metrics(self, results):
        return dict(acc=np.float32(np.mean(results)))
'''

TOY_CONFIG = '''
custom_imports = dict(imports=['mmtal_zoom', 'ckpt_toy_components'],
                      allow_failed_imports=False)
default_scope = 'mmaction'
model = dict(type='CkptToyModel')
_loader = dict(batch_size=4, num_workers=0,
               dataset=dict(type='CkptToyDataset', pipeline=[]))
train_dataloader = dict(_loader, sampler=dict(type='DefaultSampler',
                                              shuffle=True))
val_dataloader = dict(_loader, sampler=dict(type='DefaultSampler',
                                            shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='CkptToyAccuracy')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, by_epoch=True)]
custom_hooks = [dict(type='EMAHook', momentum=0.01)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, save_last=True,
                    save_best='toy/acc', rule='greater'))
randomness = dict(seed=0)
'''


def _run(args, env_path=None, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    if env_path:
        env['PYTHONPATH'] = os.pathsep.join(
            [str(env_path), env.get('PYTHONPATH', '')])
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=timeout)


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """Config + one epoch trained with our tools/train.py."""
    root = tmp_path_factory.mktemp('toy')
    (root / 'ckpt_toy_components.py').write_text(TOY_MODULE)
    cfg = root / 'toy_config.py'
    cfg.write_text(TOY_CONFIG)
    work = root / 'work'
    _ok(_run(['tools/train.py', cfg, '--work-dir', work], env_path=root))
    return dict(root=root, cfg=cfg, work=work, ckpt=work / 'epoch_1.pth')


def test_our_test_tool_loads_runner_checkpoint(toy):
    proc = _ok(_run(['tools/test.py', toy['cfg'], toy['ckpt'], '--work-dir',
                     toy['root'] / 'test'], env_path=toy['root']))
    assert 'toy/acc' in proc.stdout + proc.stderr


def test_our_train_tool_resumes(toy):
    proc = _ok(_run(['tools/train.py', toy['cfg'], '--work-dir', toy['work'],
                     '--resume', '--cfg-options', 'train_cfg.max_epochs=2'],
                    env_path=toy['root']))
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert (toy['work'] / 'epoch_2.pth').is_file()


def test_trust_flags_for_one_foreign_checkpoint(toy):
    ckpt = torch.load(toy['ckpt'])
    ckpt['meta']['args'] = argparse.Namespace(lr=0.01)  # e.g. an old script
    foreign = toy['root'] / 'foreign.pth'
    torch.save(ckpt, foreign)
    base = ['tools/test.py', toy['cfg'], foreign,
            '--work-dir', toy['root'] / 'test_foreign']

    refused = _run(base, env_path=toy['root'])
    assert refused.returncode != 0
    assert 'Traceback' not in refused.stderr  # a message, not a crash
    for needle in (str(foreign), 'argparse.Namespace', '--trust-checkpoint'):
        assert needle in refused.stderr, refused.stderr[-3000:]

    _ok(_run(base + ['--trust-checkpoint'], env_path=toy['root']))
    _ok(_run(base + ['--trust-checkpoint-global', 'argparse.Namespace'],
             env_path=toy['root']))
    # resume from it with tools/train.py
    _ok(_run(['tools/train.py', toy['cfg'], '--work-dir',
              toy['root'] / 'resume_foreign', '--resume', foreign,
              '--trust-checkpoint', '--cfg-options', 'train_cfg.max_epochs=2'],
             env_path=toy['root']))


def test_full_disk_keeps_the_last_checkpoint(toy, tmp_path, monkeypatch):
    """Issue 15, defect 2, end to end: ``tools/train.py`` with
    ``max_keep_ckpts=1`` on a disk that fills up while epoch 2 is saved
    (a size-limited write, RLIMIT_FSIZE). The run fails with one line naming
    the file; epoch_1.pth survives intact, no partial file is left, and
    ``--resume`` (no path) finishes the run."""
    cfg = tmp_path / 'full_disk.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{str(toy['cfg'])!r}]
        model = dict(type='CkptToyBigModel')
        train_cfg = dict(max_epochs=2)
        default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
        custom_hooks = [dict(type='EMAHook', momentum=0.01),
                        dict(type='FileSizeLimitHook', limit=1000000,
                             epoch=2)]
        '''))
    work = tmp_path / 'work'
    proc = _run(['tools/train.py', cfg, '--work-dir', work],
                env_path=toy['root'])
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith('error: ') and 'epoch_2.pth' in last, last
    names = sorted(os.listdir(work))
    assert 'epoch_1.pth' in names and 'epoch_2.pth' not in names, names
    assert not [n for n in names if n.endswith('.tmp')], names
    assert (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    ckpt = torch.load(work / 'epoch_1.pth')  # complete, weights_only
    assert ckpt['meta']['epoch'] == 1

    sys.path.insert(0, str(REPO / 'tests'))
    from cli_helpers import run_tool
    monkeypatch.syspath_prepend(str(toy['root']))
    rc, out, err = run_tool('train', [
        toy['cfg'], '--work-dir', work, '--resume', '--cfg-options',
        'model.type=CkptToyBigModel', 'train_cfg.max_epochs=2',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        f'experiment_name=full_disk_{os.getpid()}'])
    assert rc == 0, err[-3000:]
    names = sorted(os.listdir(work))
    assert 'epoch_2.pth' in names and 'epoch_1.pth' not in names, names


class _RunsShell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_trust_flag_never_runs_code(toy):
    marker = toy['root'] / 'marker'
    ckpt = torch.load(toy['ckpt'])
    ckpt['meta']['payload'] = _RunsShell(f'touch {marker}')
    evil = toy['root'] / 'evil.pth'
    torch.save(ckpt, evil)
    proc = _run(['tools/test.py', toy['cfg'], evil, '--trust-checkpoint',
                 '--work-dir', toy['root'] / 'test_evil'],
                env_path=toy['root'])
    assert proc.returncode != 0
    assert 'never allowed' in proc.stderr, proc.stderr[-3000:]
    assert not marker.exists()


# --------------------------------------------------------------------------
# stock BMN under MMAction2's own tools
# --------------------------------------------------------------------------
def _write_activitynet(root, num_videos=4, temporal_dim=100, feat_dim=400):
    """MMAction2's ActivityNetDataset format: one CSV (header + temporal_dim
    rows x feat_dim columns) per video and an annotation JSON."""
    rng = np.random.default_rng(0)
    feats = root / 'csv'
    feats.mkdir()
    anno = {}
    header = ','.join(f'f{i}' for i in range(feat_dim))
    for i in range(num_videos):
        name = f'v_toy{i}'
        np.savetxt(feats / f'{name}.csv',
                   rng.random((temporal_dim, feat_dim), dtype=np.float32),
                   delimiter=',', header=header, comments='', fmt='%.4f')
        duration = 20.0 + 5 * i
        anno[name] = dict(
            duration_second=duration, duration_frame=int(duration * 30),
            feature_frame=int(duration * 30), fps=30.0, rfps=30.0,
            annotations=[dict(segment=[2.0 + i, 8.0 + i], label='toy')])
    with open(root / 'anno.json', 'w') as f:
        json.dump(anno, f)
    return feats, root / 'anno.json'


@pytest.mark.slow
def test_stock_bmn_checkpoint_reloads_with_mmaction_tools(tmp_path):
    import mmaction
    mim = Path(mmaction.__file__).parent / '.mim'
    base_cfg = mim / 'configs/localization/bmn/' \
        'bmn_2xb8-400x100-9e_activitynet-feature.py'
    feats, anno = _write_activitynet(tmp_path)
    work = tmp_path / 'work'
    cfg = tmp_path / 'bmn_tiny.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{str(base_cfg)!r}]
        custom_imports = dict(imports=['mmtal_zoom'],
                              allow_failed_imports=False)
        _data = dict(ann_file={str(anno)!r},
                     data_prefix=dict(video={str(feats)!r}))
        train_dataloader = dict(batch_size=2, num_workers=0,
                                persistent_workers=False, dataset=_data)
        val_dataloader = dict(num_workers=0, persistent_workers=False,
                              dataset=_data)
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=1)
        param_scheduler = [dict(type='MultiStepLR', begin=0, end=1,
                                by_epoch=True, milestones=[1], gamma=0.1)]
        default_hooks = dict(logger=dict(interval=1))
        work_dir = {str(work)!r}
        test_evaluator = dict(
            type='ANetMetric', metric_type='AR@AN',
            dump_config=dict(out={str(tmp_path / 'results.json')!r},
                             output_format='json'))
        val_evaluator = test_evaluator
        '''))
    train = _ok(_run([mim / 'tools/train.py', cfg], timeout=300))
    ckpt = work / 'epoch_1.pth'
    best = list(work.glob('best_auc_*.pth'))
    assert ckpt.is_file() and best
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        str(ckpt)) == []
    test = _ok(_run([mim / 'tools/test.py', cfg, best[0]], timeout=300))
    # val and test are the same 4 videos: the reloaded checkpoint must
    # reproduce the AUC that training printed for it
    auc = re.compile(r'Epoch\((?:val|test)\).*\bauc: ([0-9.]+)')
    val_auc = auc.findall(train.stdout + train.stderr)
    test_auc = auc.findall(test.stdout + test.stderr)
    assert val_auc and test_auc, test.stdout[-2000:]
    assert test_auc[-1] == val_auc[-1]
    assert osp.isfile(tmp_path / 'results.json')
