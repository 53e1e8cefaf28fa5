"""Atomic file writes: a crash never leaves a half-written result behind."""
import json
import os
import os.path as osp
import tempfile
from typing import Any


def atomic_write_bytes(data: bytes, path: str) -> str:
    """Write ``data`` to ``path`` through a temporary file + ``os.replace``.

    Parent folders are created. Returns ``path``.
    """
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.',
                               dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_write_json(obj: Any, path: str, indent: int = 2) -> str:
    """``json.dump`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    text = json.dumps(obj, indent=indent)
    return atomic_write_bytes(text.encode('utf-8'), path)
