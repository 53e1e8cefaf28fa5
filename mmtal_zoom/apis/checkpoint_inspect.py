"""Which pickled globals does a checkpoint need?

``torch.load`` (``weights_only=True``, the default since torch 2.6) refuses
any global that is not allow-listed. This tool lists, without executing
anything, the globals in a checkpoint's ``data.pkl`` and says which ones are
allowed by torch, which by :mod:`mmtal_zoom.compat.checkpoint_loading`, and
which by neither::

    python -m mmtal_zoom.apis.checkpoint_inspect work_dirs/x/epoch_1.pth
    python -m mmtal_zoom.apis.checkpoint_inspect CKPT --json

It is how that allow-list was derived from real runner checkpoints. With
``--load`` it also loads each file (weights_only) and lists the concrete
numpy dtype classes inside, which the allow-list must hold as well (torch's
BUILD opcode only sets the state of allow-listed types, and numpy 2.x dtypes
are instances of ``numpy.dtypes.*DType``).
"""
import _compat_pickle
import argparse
import io
import json
import pickletools
import sys
import zipfile

__all__ = ['checkpoint_globals', 'describe_checkpoint', 'main']


def _py3_name(module: str, name: str) -> str:
    """Map Python 2 names (``__builtin__ getattr``) as unpicklers do."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f'{module}.{name}'


def checkpoint_globals(path: str) -> list:
    """Sorted ``module.name`` of every GLOBAL in a ``torch.save`` zip file.

    Read statically with :mod:`pickletools`: nothing is imported or run.

    Raises:
        ValueError: ``path`` is not a zip checkpoint written by torch.save.
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f'{path}: not a zip checkpoint written by '
                         'torch.save (legacy or TorchScript format?)')
    with zipfile.ZipFile(path) as zf:
        pkls = [n for n in zf.namelist()
                if n.endswith('/data.pkl') or n == 'data.pkl']
        if len(pkls) != 1:
            raise ValueError(f'{path}: expected one data.pkl in the zip, '
                             f'found {pkls}')
        data = zf.read(pkls[0])
    names, strings = set(), []
    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        if op.name == 'GLOBAL':
            module, name = arg.split(' ', 1)
            names.add(_py3_name(module, name))
        elif op.name == 'STACK_GLOBAL':  # protocol >= 4
            if len(strings) >= 2:
                names.add(_py3_name(strings[-2], strings[-1]))
        if isinstance(arg, str):
            strings.append(arg)
    return sorted(names)


def _numpy_types(obj, found, seen):
    import numpy as np
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (np.ndarray, np.generic)):
        found.add(f'{type(obj).__module__}.{type(obj).__qualname__}')
        found.add(f'{type(obj.dtype).__module__}.'
                  f'{type(obj.dtype).__qualname__}')
        return
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, '__dict__') and not hasattr(obj, 'data_ptr'):
        children = list(vars(obj).values())
    else:
        return
    for child in children:
        _numpy_types(child, found, seen)


def describe_checkpoint(path: str, load: bool = False) -> dict:
    """Globals of one checkpoint, split by who allows them.

    Returns:
        dict: ``globals`` (all), ``torch_default``, ``mmtal_zoom``,
        ``not_allowed`` (lists of names); with ``load=True`` also
        ``top_level_keys`` and ``numpy_types`` (concrete numpy classes found
        in the loaded object).
    """
    import torch
    from torch import _weights_only_unpickler as wou

    from mmtal_zoom import compat
    from mmtal_zoom.compat import checkpoint_loading
    compat.apply()
    names = checkpoint_globals(path)
    torch_default = set(wou._get_allowed_globals())
    ours = set(checkpoint_loading.checkpoint_safe_global_names())
    out = dict(
        file=path, globals=names,
        torch_default=[n for n in names if n in torch_default],
        mmtal_zoom=[n for n in names if n in ours and n not in torch_default],
        not_allowed=sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(path)))
    if load:
        obj = torch.load(path, map_location='cpu', weights_only=True)
        found = set()
        _numpy_types(obj, found, set())
        out['top_level_keys'] = (sorted(map(str, obj))
                                 if isinstance(obj, dict) else [])
        out['numpy_types'] = sorted(found)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m mmtal_zoom.apis.checkpoint_inspect',
        description='List the pickled globals a checkpoint needs and who '
        'allows them under torch.load(weights_only=True). Nothing in the '
        'file is executed (unless --load, which loads it weights_only).')
    parser.add_argument('checkpoints', nargs='+', help='.pth files')
    parser.add_argument('--load', action='store_true',
                        help='also load (weights_only=True) and list the '
                        'numpy classes inside')
    parser.add_argument('--json', action='store_true', help='print JSON')
    args = parser.parse_args(argv)
    reports, failed = [], False
    for path in args.checkpoints:
        try:
            reports.append(describe_checkpoint(path, load=args.load))
        except Exception as exc:  # noqa: BLE001  (report and go on)
            failed = True
            reports.append(dict(file=path, error=f'{type(exc).__name__}: '
                                f'{exc}'))
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        for rep in reports:
            print(f'== {rep["file"]}')
            if 'error' in rep:
                print(f'  error: {rep["error"]}')
                continue
            for key in ('torch_default', 'mmtal_zoom', 'not_allowed',
                        'numpy_types', 'top_level_keys'):
                if key in rep:
                    print(f'  {key}: {", ".join(rep[key]) or "-"}')
    return int(failed or any(r.get('not_allowed') for r in reports))


if __name__ == '__main__':
    sys.exit(main())
