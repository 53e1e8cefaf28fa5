"""Malicious checkpoints for the trust tests (not a test module).

Each payload is a pickled call ``GLOBAL(*args)`` hidden in an otherwise
normal checkpoint; if the unpickler ever called it, it would create
``marker`` (directly, or through a nested pickle / config / shell). The
tests assert that the marker never appears.

Used by ``tests/test_checkpoint_safety.py``,
``tests/apis/test_checkpoint_trust.py`` and ``tests/robustness/``.
"""
import io
import pickle
import zipfile
from typing import Callable, Dict, NamedTuple, Tuple

import numpy as np
import torch


def _placeholder(*args):  # replaced by the payload's global in the file
    raise AssertionError('placeholder called')


class _Call:
    """Pickles as ``_placeholder(*args)``."""

    def __init__(self, args):
        self.args = args

    def __reduce__(self):
        return _placeholder, self.args


class _Exec:
    """Pickles as ``exec(code)`` (for nested, full-pickle payloads)."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return exec, (self.code, )


def _touch_code(marker: str) -> str:
    return f'open({str(marker)!r}, "w").close()'


def _nested_npy(marker: str) -> bytes:
    buf = io.BytesIO()
    arr = np.empty(1, dtype=object)
    arr[0] = _Exec(_touch_code(marker))
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _nested_torch(marker: str) -> bytes:
    buf = io.BytesIO()
    torch.save({'x': _Exec(_touch_code(marker))}, buf)
    return buf.getvalue()


class Payload(NamedTuple):
    """``module`` / ``name`` as written in the pickle's GLOBAL opcode;
    ``args(marker)`` the call's arguments."""
    module: str
    name: str
    args: Callable[[str], Tuple]

    @property
    def global_name(self) -> str:
        return f'{self.module}.{self.name}'


#: One entry per class of payload found in issue 15 (and the classics).
PAYLOADS: Dict[str, Payload] = {
    # numpy.load of an in-memory .npy holding a pickled object array
    'numpy.load+BytesIO': Payload(
        'numpy', 'load',
        lambda m: (io.BytesIO(_nested_npy(m)), None, True)),
    'mmengine.fileio.load': Payload(
        'mmengine.fileio.io', 'load',
        lambda m: (io.BytesIO(pickle.dumps(_Exec(_touch_code(m)))), 'pkl')),
    'torch.load': Payload(
        'torch.serialization', 'load',
        lambda m: (io.BytesIO(_nested_torch(m)), )),
    'Config.fromstring': Payload(
        'mmengine.config.config', 'Config.fromstring',
        lambda m: (f'import os\n{_touch_code(m)}\n', '.py')),
    '_io.open': Payload('_io', 'open', lambda m: (str(m), 'w')),
    '_io.FileIO': Payload('_io', 'FileIO', lambda m: (str(m), 'w')),
    'builtins.exec': Payload('builtins', 'exec',
                             lambda m: (_touch_code(m), )),
    'builtins.eval': Payload('builtins', 'eval',
                             lambda m: (_touch_code(m), )),
    'builtins.__import__': Payload('builtins', '__import__',
                                   lambda m: ('os', )),
    'importlib.import_module': Payload('importlib', 'import_module',
                                       lambda m: ('os', )),
    'posix.system': Payload('posix', 'system',
                            lambda m: (f'touch {m}', )),
    'subprocess.call': Payload('subprocess', 'call',
                               lambda m: (['touch', str(m)], )),
}


def _replace_global(data: bytes, module: str, name: str) -> bytes:
    here = f'c{__name__}\n{_placeholder.__name__}\n'.encode()
    assert data.count(here) == 1, data[:200]
    return data.replace(here, f'c{module}\n{name}\n'.encode())


def write_payload_checkpoint(path, payload: Payload, marker,
                             state_dict=None) -> str:
    """A runner-style checkpoint (``state_dict`` + ``meta``) whose
    ``meta['payload']`` is ``payload``'s call. Returns ``str(path)``."""
    obj = dict(state_dict=state_dict if state_dict is not None else
               {'w': torch.ones(2)},
               meta=dict(payload=_Call(payload.args(str(marker)))))
    buf = io.BytesIO()
    torch.save(obj, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(str(path), 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith('/data.pkl'):
                data = _replace_global(data, payload.module, payload.name)
            dst.writestr(info.filename, data)
    return str(path)
