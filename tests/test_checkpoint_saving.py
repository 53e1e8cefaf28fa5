"""Saving checkpoints (issue 15, defect 2): atomic writes; the old checkpoint
is deleted only after the new one is complete (a truncated file is named at
load: tests/test_checkpoint_safety.py)."""
import contextlib
import errno
import glob
import os
import os.path as osp
import sys

import numpy as np
import pytest
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.runner import load_checkpoint

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from checkpoint_toy import ToyModel, make_runner  # noqa: E402


class _HalfWriter:
    """A file that takes half of the first write, then reports a full
    disk."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, 'No space left on device')

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.fixture
def full_disk_for(monkeypatch):
    """``full_disk_for(pred)``: from now on, atomic writes of a path for
    which ``pred(path)`` is true fail half-way (ENOSPC)."""
    from mmtal_zoom import utils
    real = utils.atomic_open
    state = dict(pred=lambda path: False)

    @contextlib.contextmanager
    def atomic_open(path):
        with real(path) as f:
            yield _HalfWriter(f) if state['pred'](str(path)) else f

    monkeypatch.setattr(utils, 'atomic_open', atomic_open)
    return lambda pred: state.update(pred=pred)


class _FailFrom(Hook):
    """Before the checkpoint hook of epoch ``epoch``, make writes of files
    whose name starts with ``prefix`` fail."""
    priority = 'NORMAL'

    def __init__(self, set_pred, epoch, prefix):
        self.set_pred, self.epoch, self.prefix = set_pred, epoch, prefix

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            self.set_pred(lambda p: osp.basename(p).startswith(self.prefix))


def _no_temp_files(work):
    return [p for p in glob.glob(osp.join(work, '**', '.*.tmp'),
                                 recursive=True)]


@pytest.mark.parametrize('prefix', ['epoch_2', 'best_acc_epoch_2'])
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, full_disk_for,
                                                   prefix):
    """max_keep_ckpts=1: the disk fills while epoch 2 (or the new best) is
    written; epoch 1 (and the previous best) survive, nothing truncated is
    left, last_checkpoint still points to epoch 1, and --resume (auto)
    finishes the run."""
    work = tmp_path / 'work'
    hooks = dict(
        logger=dict(type='LoggerHook', interval=1),
        checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                        save_best='acc', rule='greater'))
    runner = make_runner(
        work, max_epochs=2, default_hooks=hooks,
        # an accuracy that improves every epoch: epoch 2 replaces the best
        val_evaluator=[_RisingAccuracy()],
        custom_hooks=[dict(type='EMAHook', momentum=0.01),
                      _FailFrom(full_disk_for, 2, prefix)])
    with pytest.raises(OSError, match='No space left') as err:
        runner.train()
    assert prefix in str(err.value)  # names the file
    full_disk_for(lambda p: False)
    names = sorted(os.listdir(work))
    # epoch 2 itself was saved when only the new best failed
    survivors = ['best_acc_epoch_1.pth',
                 'epoch_1.pth' if prefix == 'epoch_2' else 'epoch_2.pth']
    assert set(survivors) <= set(names), names
    assert f'{prefix}.pth' not in names
    assert _no_temp_files(str(work)) == []
    for name in survivors:
        load_checkpoint(ToyModel(), str(work / name))  # complete files
    with open(work / 'last_checkpoint') as f:
        last = f.read().strip()
    if prefix == 'epoch_2':
        assert last.endswith('epoch_1.pth')
        resumed = make_runner(work, max_epochs=2, default_hooks=hooks,
                              val_evaluator=[_RisingAccuracy()],
                              resume=True)
        resumed.train()
        assert resumed.epoch == 2
        names = sorted(os.listdir(work))
        assert 'epoch_2.pth' in names and 'epoch_1.pth' not in names


class _RisingAccuracy(BaseMetric):
    """Accuracy = epoch number / 10 (always improving)."""

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        from mmengine.logging import MessageHub
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return dict(acc=np.float32((epoch + 1) / 10))


def test_failed_dump_keeps_the_previous_file(tmp_path, full_disk_for):
    """``tools/test.py --dump`` writes through mmengine.dump."""
    from mmengine.fileio import dump, load
    path = str(tmp_path / 'raw.pkl')
    dump([1, 2, 3], path)
    full_disk_for(lambda p: True)
    with pytest.raises(OSError, match='raw.pkl'):
        dump(list(range(10000)), path)
    assert load(path) == [1, 2, 3]
    assert os.listdir(tmp_path) == ['raw.pkl']
