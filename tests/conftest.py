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
