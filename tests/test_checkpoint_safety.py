"""Checkpoints load again under torch >= 2.6, with ``weights_only=True`` (#8).

A toy model is trained with mmengine's Runner (tests/checkpoint_toy.py) so
that the files are real runner checkpoints.
"""
import argparse
import collections
import glob
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import ExponentialMovingAverage
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

from mmtal_zoom import compat
from mmtal_zoom.apis import checkpoint as ckpt_policy
from mmtal_zoom.apis.checkpoint_inspect import (checkpoint_globals,
                                                describe_checkpoint)
from mmtal_zoom.compat import checkpoint_loading

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from checkpoint_payloads import PAYLOADS  # noqa: E402
from checkpoint_payloads import write_payload_checkpoint  # noqa: E402
from checkpoint_toy import (ITERS_PER_EPOCH, ToyModel,  # noqa: E402
                            logged_losses, make_runner)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Two epochs straight: epoch_1, epoch_2 (= last), best_acc_*."""
    work = tmp_path_factory.mktemp('straight')
    runner = make_runner(work)
    runner.train()
    best = glob.glob(str(work / 'best_acc_epoch_*.pth'))
    assert len(best) == 1
    with open(work / 'last_checkpoint') as f:
        last = f.read().strip()
    return dict(work=work, epoch_1=str(work / 'epoch_1.pth'),
                epoch_2=str(work / 'epoch_2.pth'), best=best[0], last=last,
                losses=runner.message_hub.get_scalar('train/loss').data[0],
                state_dict={k: v.clone()
                            for k, v in runner.model.state_dict().items()})


# --------------------------------------------------------------------------
# the allow-list
# --------------------------------------------------------------------------
def test_allow_list_is_exactly_what_runner_checkpoints_need(trained):
    """Every global in real runner checkpoints is allowed; no global is
    allowed that they do not use (dtype classes and numpy-1.x aliases of the
    same two functions aside)."""
    used = set()
    for name in ('epoch_1', 'epoch_2', 'best', 'last'):
        report = describe_checkpoint(trained[name], load=True)
        assert report['not_allowed'] == [], (name, report)
        used |= set(report['mmtal_zoom'])
        # BUILD of a dtype needs its concrete class: it must be allowed.
        ours = set(compat.checkpoint_safe_global_names())
        dtype_classes = [t for t in report['numpy_types']
                         if t.startswith('numpy.dtypes.')]
        assert 'numpy.dtypes.Float64DType' in dtype_classes
        assert set(dtype_classes) <= ours, dtype_classes
    ours = {n for n in compat.checkpoint_safe_global_names()
            if not n.startswith(('numpy.dtypes.', 'numpy.core.'))}
    assert used == ours == {
        'builtins.getattr', 'mmengine.logging.history_buffer.HistoryBuffer',
        'numpy._core.multiarray._reconstruct',
        'numpy._core.multiarray.scalar', 'numpy.dtype', 'numpy.ndarray'}


def test_weights_only_stays_on(trained):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    # builtins.getattr is answered by the guard, never the real getattr
    entries = torch.serialization.get_safe_globals()
    assert getattr not in entries
    assert (getattr, 'builtins.getattr') not in entries
    assert (checkpoint_loading._guarded_getattr, 'builtins.getattr') in entries
    assert checkpoint_loading._HB_STATISTICS == {
        'min', 'max', 'mean', 'current'}


def test_apply_is_idempotent_for_checkpoints():
    from mmengine.runner.checkpoint import CheckpointLoader
    before = set(torch.serialization.get_safe_globals())
    compat.apply()
    compat.apply()
    assert set(torch.serialization.get_safe_globals()) == before
    loader = CheckpointLoader._schemes['']
    assert loader._mmtal_zoom_safe
    assert not getattr(loader._mmtal_zoom_original, '_mmtal_zoom_safe',
                       False)


# --------------------------------------------------------------------------
# loading: runner files, EMA, state-dict only; load_checkpoint and Runner
# --------------------------------------------------------------------------
@pytest.mark.parametrize('which', ['epoch_1', 'epoch_2', 'best', 'last'])
def test_runner_checkpoint_loads(trained, which):
    plain = torch.load(trained[which], map_location='cpu')  # weights_only
    assert isinstance(
        plain['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    model = ToyModel()
    ckpt = load_checkpoint(model, trained[which], map_location='cpu')
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, ckpt['state_dict'][key])
    meta = ckpt['meta']['dataset_meta']
    assert meta['classes'] == ('neg', 'pos')
    assert isinstance(meta['ratio'], np.float64)


def test_ema_checkpoint_loads(trained):
    """EMAHook swaps on save: ``state_dict`` holds the averaged weights,
    ``ema_state_dict`` the raw training weights (+ ``steps``)."""
    ckpt = _load_checkpoint(trained['epoch_2'], map_location='cpu')
    ema = ExponentialMovingAverage(ToyModel(), momentum=0.01)
    ema.load_state_dict(ckpt['ema_state_dict'])
    assert int(ema.steps) == 2 * ITERS_PER_EPOCH
    raw = trained['state_dict']['fc.weight']
    assert torch.equal(ema.module.fc.weight.data, raw)
    assert not torch.equal(ckpt['state_dict']['fc.weight'], raw)


def test_state_dict_only_file_loads(trained, tmp_path):
    path = tmp_path / 'weights_only.pth'
    torch.save(trained['state_dict'], path)
    model = ToyModel()
    load_checkpoint(model, str(path), map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, trained['state_dict'][key])


@pytest.mark.parametrize('which', ['best', 'last', 'state_dict_only'])
def test_runner_load_from_and_test(trained, tmp_path, which):
    if which == 'state_dict_only':
        path = str(tmp_path / 'weights.pth')
        torch.save(trained['state_dict'], path)
    else:
        path = trained[which]
    runner = make_runner(tmp_path / 'test', load_from=path)
    metrics = runner.test()
    assert 0.0 <= metrics['acc'] <= 1.0
    saved = torch.load(path)
    saved = saved.get('state_dict', saved)
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_resume_matches_straight_training(trained, tmp_path):
    """2 epochs straight == 1 epoch + resume for the second: same final
    weights, optimizer and EMA state, and the same logged losses."""
    work = tmp_path / 'resumed'
    runner = make_runner(work, load_from=trained['epoch_1'], resume=True)
    runner.train()
    assert runner.epoch == 2
    resumed = torch.load(str(work / 'epoch_2.pth'))
    straight = torch.load(trained['epoch_2'])
    for key in ('state_dict', 'ema_state_dict'):
        assert resumed[key].keys() == straight[key].keys()
        for name in straight[key]:
            assert torch.equal(resumed[key][name], straight[key][name]), name
    for pid, state in straight['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(resumed['optimizer']['state'][pid][name],
                               value)
    np.testing.assert_array_equal(
        runner.message_hub.get_scalar('train/loss').data[0],
        trained['losses'])
    second_epoch = [s for s in logged_losses(trained['work'])
                    if s[0] > ITERS_PER_EPOCH]
    assert len(second_epoch) == ITERS_PER_EPOCH
    assert logged_losses(work) == second_epoch


# --------------------------------------------------------------------------
# security
# --------------------------------------------------------------------------
class _RunsShell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _RunsSubprocess:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return subprocess.call, (self.command, )


class _Getattr:
    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


def _crafted(path, payload):
    torch.save({'state_dict': {'fc.weight': torch.ones(1, 4)},
                'meta': dict(payload=payload)}, path)
    return str(path)


@pytest.mark.parametrize('reducer', [_RunsShell, _RunsSubprocess])
def test_crafted_code_execution_is_refused(tmp_path, reducer):
    marker = tmp_path / 'marker'
    path = _crafted(tmp_path / 'evil.pth', reducer(f'touch {marker}'))
    assert checkpoint_globals(path)  # the payload is in the pickle
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(compat.CheckpointLoadError) as err:
        load_checkpoint(ToyModel(), path)
    message = str(err.value)
    assert path in message
    assert 'Never allowed' in message or 'blocked' in message
    # not even when the user trusts the file: refused before it is read
    with pytest.raises(compat.CheckpointLoadError, match='never allowed'):
        compat.trusted_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize('target', [
    (collections.OrderedDict, 'fromkeys'),
    (HistoryBuffer, 'register_statistics'),
    (HistoryBuffer, '__init__'),
    (np.ndarray, 'tofile'),
])
def test_getattr_beyond_history_buffer_statistics_is_refused(
        tmp_path, target):
    path = _crafted(tmp_path / 'getattr.pth', _Getattr(*target))
    with pytest.raises(pickle.UnpicklingError, match='refused builtins'):
        torch.load(path)
    with pytest.raises(compat.CheckpointLoadError) as err:
        _load_checkpoint(path)
    assert repr(target[1]) in str(err.value)
    with compat.trusted_checkpoint(path):  # trust never opens getattr
        with pytest.raises(compat.CheckpointLoadError):
            _load_checkpoint(path)


def test_getattr_of_history_buffer_statistics_is_answered(tmp_path):
    path = _crafted(tmp_path / 'stats.pth',
                    [_Getattr(HistoryBuffer, s) for s in
                     ('min', 'max', 'mean', 'current')])
    loaded = torch.load(path)['meta']['payload']
    assert loaded == [HistoryBuffer.min, HistoryBuffer.max,
                      HistoryBuffer.mean, HistoryBuffer.current]


# --------------------------------------------------------------------------
# opt-in for one trusted file
# --------------------------------------------------------------------------
def test_trusted_checkpoint_is_scoped_to_one_file(trained, tmp_path):
    ckpt = torch.load(trained['epoch_1'])
    ckpt['meta']['args'] = argparse.Namespace(lr=0.1)  # e.g. an old script
    foreign = str(tmp_path / 'foreign.pth')
    torch.save(ckpt, foreign)
    other = str(tmp_path / 'other.pth')
    shutil.copy(foreign, other)

    with pytest.raises(compat.CheckpointLoadError) as err:
        load_checkpoint(ToyModel(), foreign)
    message = str(err.value)
    for needle in (foreign, 'argparse.Namespace', '--trust-checkpoint',
                   'trusted_checkpoint', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        assert needle in message

    for names in (None, ['argparse.Namespace']):
        with compat.trusted_checkpoint(foreign, names):
            loaded = load_checkpoint(ToyModel(), foreign)
            assert loaded['meta']['args'].lr == 0.1
            with pytest.raises(compat.CheckpointLoadError):
                load_checkpoint(ToyModel(), other)  # another file: no
            with pytest.raises(pickle.UnpicklingError):
                torch.load(foreign)  # nothing widened globally
        with pytest.raises(compat.CheckpointLoadError):
            load_checkpoint(ToyModel(), foreign)  # over after the block
    # the permanent allow-list survived the context managers
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        trained['epoch_1']) == []
    load_checkpoint(ToyModel(), trained['epoch_1'])


@pytest.mark.parametrize('name', ['builtins.eval', 'builtins.getattr',
                                  'os.system', 'subprocess.call'])
def test_trusted_checkpoint_refuses_code_runners(tmp_path, name):
    with pytest.raises(pickle.UnpicklingError, match='never allowed'):
        compat.trusted_checkpoint(tmp_path / 'x.pth', [name])


@pytest.mark.parametrize('name', [p.global_name for p in PAYLOADS.values()]
                         + ['_io.BytesIO', 'collections.defaultdict',
                            'builtins.map', 'builtins.type',
                            'pathlib.Path.read_text', 'numpy.fromfile'])
def test_only_data_only_constructors_can_be_trusted(tmp_path, name):
    """Issue 15, defect 1: anything that can load, open, compile or import
    is refused even when named, before the file is read."""
    with pytest.raises(compat.CheckpointLoadError, match='never allowed'):
        compat.trusted_checkpoint(tmp_path / 'x.pth', [name])


def test_trustable_globals_are_classes():
    """The list holds constructors only: every entry resolves to a class
    that is not a loader or a file (``_io`` types are absent)."""
    for name in compat.TRUSTABLE_GLOBALS:
        obj, _ = ckpt_policy._trustable_entry(name)
        assert isinstance(obj, type), name
        assert obj.__module__ not in ('_io', 'io', 'os', 'posix'), name
        assert not hasattr(obj, 'read') and not hasattr(obj, 'write'), name


@pytest.mark.parametrize('key', sorted(PAYLOADS))
def test_payloads_refused_with_and_without_trust(tmp_path, key):
    marker = tmp_path / 'marker'
    path = write_payload_checkpoint(tmp_path / 'evil.pth', PAYLOADS[key],
                                    marker)
    with pytest.raises(compat.CheckpointLoadError) as err:
        _load_checkpoint(path)
    message = str(err.value)
    assert path in message and 'Do not load this file' in message
    assert 'add_safe_globals' not in message and '--trust' not in message
    assert '\n' not in message  # one line
    with pytest.raises(compat.CheckpointLoadError, match='never allowed'):
        compat.trusted_checkpoint(path)
    with pytest.raises(compat.CheckpointLoadError, match='never allowed'):
        compat.trusted_checkpoint(path, [PAYLOADS[key].global_name])
    assert not marker.exists()


def test_payloads_are_real(tmp_path):
    """The payloads do run when their global is allowed the way the old
    opt-in did it (torch's ``safe_globals`` with the named callable): the
    tests above would catch a regression."""
    import io
    marker = tmp_path / 'marker'
    path = write_payload_checkpoint(tmp_path / 'evil.pth',
                                    PAYLOADS['numpy.load+BytesIO'], marker)
    with torch.serialization.safe_globals([(np.load, 'numpy.load'),
                                           (io.BytesIO, '_io.BytesIO')]):
        torch.load(path)
    assert marker.exists()


def _hb_with_statistics(methods):
    """A HistoryBuffer whose pickled state carries ``methods`` as its
    statistics registry (what a crafted checkpoint can hold)."""
    buf = HistoryBuffer()
    buf.update(1.0)
    buf.update(3.0)
    buf.__dict__['_statistics_methods'] = methods
    return buf


def test_checkpoint_cannot_change_history_buffer_class(tmp_path):
    """Issue 15, defect 8: a file that passes the allow-list cannot swap
    HistoryBuffer's statistics for the process."""
    registry = dict(HistoryBuffer._statistics_methods)
    swapped = str(tmp_path / 'swapped.pth')
    torch.save({'state_dict': {}, 'meta': {'hb': _hb_with_statistics(
        {'min': HistoryBuffer.max, 'max': HistoryBuffer.min})}}, swapped)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        swapped) == []  # it passes the allow-list
    with pytest.raises(compat.CheckpointLoadError,
                       match='replaces the statistics method'):
        _load_checkpoint(swapped)
    assert HistoryBuffer._statistics_methods == registry
    fresh = HistoryBuffer()
    fresh.update(1.0)
    fresh.update(3.0)
    assert fresh.min() == 1.0 and fresh.max() == 3.0

    # a new name stays on the loaded instance
    extra = str(tmp_path / 'extra.pth')
    torch.save({'meta': {'hb': _hb_with_statistics(
        {'biggest': HistoryBuffer.max})}}, extra)
    loaded = _load_checkpoint(extra)['meta']['hb']
    assert loaded.statistics('biggest') == 3.0
    assert loaded.statistics('min') == 1.0
    assert 'biggest' not in HistoryBuffer._statistics_methods
    assert HistoryBuffer._statistics_methods == registry


# --------------------------------------------------------------------------
# a truncated file is named at load (saving: test_checkpoint_saving.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize('cut', ['empty', 'half', 'tail', 'not_torch'])
def test_truncated_checkpoint_is_named_at_load(trained, tmp_path, cut):
    with open(trained['epoch_1'], 'rb') as f:
        data = f.read()
    data = dict(empty=b'', half=data[:len(data) // 2], tail=data[:-10],
                not_torch=b'{"state_dict": {}}')[cut]
    path = str(tmp_path / 'cut.pth')
    with open(path, 'wb') as f:
        f.write(data)
    with pytest.raises(compat.CheckpointLoadError) as err:
        load_checkpoint(ToyModel(), path)
    message = str(err.value)
    assert message.startswith(f'checkpoint {path} ') and '\n' not in message
    assert ('truncated' in message or 'empty' in message
            or 'not a checkpoint' in message)
