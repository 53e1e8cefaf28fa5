"""Shared pytest fixtures and paths."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'

# Keep every test single-threaded and reproducible on the 2-core CI machine.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import mmtal_zoom  # noqa: E402,F401  (registers everything)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` skip, with the reason, where there is no CUDA
    device (``tools/gpu_check.sh`` runs them on a GPU machine)."""
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device (torch '
                            f'{torch.__version__}: torch.cuda.is_available() '
                            'is False)')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)


@pytest.fixture
def shared_data():
    """``../shared/data`` beside the repo; skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'{SHARED_DATA} is absent')
    return SHARED_DATA


def python_exe():
    return sys.executable


@pytest.fixture(scope='session')
def tiny_tal_dataset(tmp_path_factory):
    """The 'tiny' embedded preset (12 / 4 / 4 videos of 10-24 s in subsets
    train / val / test, 4 classes, 32-d features), generated once per test
    session. Returns its folder: ``annotations.json`` and ``features/``."""
    from mmtal_zoom.datasets.generators import make_embedded_dataset
    out = tmp_path_factory.mktemp('tiny_tal_dataset')
    make_embedded_dataset(str(out), preset='tiny', seed=0)
    return out


def write_tiny_config(
        path, data_root,
        base='baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
        extra=''):
    """A CPU-seconds version of an embedded config on the tiny dataset.

    Inherits ``configs/<base>`` and shrinks the model (16-d, 4 levels), the
    schedule (4 epochs, evaluation at the end on 'val') and the batches
    (test batch 1, so that 1- and 2-process evaluation see identical
    inputs). ``extra`` is appended verbatim (further overrides).
    """
    base_path = REPO_ROOT / 'configs' / base
    text = f'''
_base_ = [{str(base_path)!r}]
data_root = {str(data_root)!r}
_data = dict(ann_file=data_root + '/annotations.json',
             data_prefix=dict(feature=data_root + '/features'))
train_dataloader = dict(batch_size=2, dataset=dict(**_data))
val_dataloader = dict(batch_size=1, dataset=dict(**_data))
test_dataloader = dict(batch_size=1, dataset=dict(**_data))
_levels = 4
model = dict(
    data_preprocessor=dict(max_seq_len=192, pad_size_divisor=8),
    backbone=dict(in_channels=32, embed_dims=16),
    neck=dict(in_channels=16, num_levels=_levels, num_heads=2,
              window_size=5),
    head=dict(num_classes=4, in_channels=16, feat_channels=16,
              prior_generator=dict(
                  strides=[1, 2, 4, 8],
                  regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)])))
train_cfg = dict(max_epochs=4, val_begin=4, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=5e-3))
custom_hooks = [dict(type='EMAHook', momentum=0.1, priority='ABOVE_NORMAL')]
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=True,
                        begin=0, end=1, convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1))
{extra}
'''
    path.write_text(text)
    return path


@pytest.fixture(scope='session')
def tiny_baseline_config(tiny_tal_dataset, tmp_path_factory):
    """Path of a tiny baseline config on the tiny dataset (see
    :func:`write_tiny_config`)."""
    out = tmp_path_factory.mktemp('tiny_cfg') / 'baseline_tiny.py'
    return write_tiny_config(out, tiny_tal_dataset)
