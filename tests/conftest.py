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
