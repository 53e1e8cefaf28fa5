"""Which pickled globals does a checkpoint need? (issue #8)

``torch.load`` (``weights_only=True``, the default since torch 2.6) refuses
any global that is not allow-listed. This helper lists, without executing
anything, the globals in a checkpoint's ``data.pkl`` and says which ones are
allowed by torch, which by :mod:`mmtal_zoom.compat`, and which by neither::

    python -m mmtal_zoom.apis.checkpoint work_dirs/x/epoch_1.pth [MORE.pth]
    python -m mmtal_zoom.apis.checkpoint CKPT --json

It is how the allow-list in ``mmtal_zoom/compat.py`` was derived from real
runner checkpoints. With ``--load`` it also loads each file (weights_only)
and lists the concrete numpy dtype classes inside, which the allow-list must
hold as well (torch's BUILD opcode only sets the state of allow-listed
types, and numpy 2.x dtypes are instances of ``numpy.dtypes.*DType``).
"""
import _compat_pickle
import argparse
import contextlib
import io
import json
import pickletools
import sys
import zipfile

__all__ = ['checkpoint_globals', 'describe_checkpoint', 'add_trust_args',
           'trust_context', 'checkpoint_weight_match',
           'check_checkpoint_matches_model']


def checkpoint_weight_match(model, state_dict: dict) -> dict:
    """How much of ``model``'s ``state_dict`` a checkpoint provides.

    Args:
        model: the ``nn.Module`` (unwrapped).
        state_dict: the checkpoint's ``state_dict`` (``module.`` prefixes,
            as DDP writes them, are ignored).

    Returns:
        dict: ``total`` (entries of the model's state dict), ``matched``
        (present with the same shape), ``missing`` and ``mismatched`` (key
        lists) and ``groups``: ``{prefix: count}`` of the missing or
        mismatched keys by their first two name components.
    """
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state_dict.items()}
    missing, mismatched, matched = [], [], 0
    for key, value in model.state_dict().items():
        other = state.get(key)
        if other is None:
            missing.append(key)
        elif tuple(getattr(other, 'shape', ())) != tuple(value.shape):
            mismatched.append(key)
        else:
            matched += 1
    groups: dict = {}
    for key in missing + mismatched:
        prefix = '.'.join(key.split('.')[:2])
        groups[prefix] = groups.get(prefix, 0) + 1
    return dict(total=len(model.state_dict()), matched=matched,
                missing=missing, mismatched=mismatched, groups=groups)


def check_checkpoint_matches_model(model, path: str,
                                   min_match: float = 1.0) -> dict:
    """Refuse a checkpoint that provides less than ``min_match`` of the
    model's weights (mmengine's runner loads non-strictly: the rest would
    keep their random initial values and the metrics would be a random
    model's). The file is read with mmengine's loader (weights_only, the
    trust of :func:`trust_context` applies).

    Raises:
        ValueError: one line naming the file, how much matched and the
            missing prefixes.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(path, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'checkpoint {path}: expected a dict of weights, '
                         f'got {type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint {path}: "state_dict" is a '
                         f'{type(state).__name__}, not a dict of weights')
    match = checkpoint_weight_match(model, state)
    total = max(match['total'], 1)
    if match['matched'] / total + 1e-9 >= min_match:
        return match
    top = sorted(match['groups'].items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ', '.join(f'{p}.* ({n})' for p, n in top[:6])
    if len(top) > 6:
        listed += f', ... ({len(top) - 6} more prefixes)'
    shape = (f', {len(match["mismatched"])} of them with another shape'
             if match['mismatched'] else '')
    raise ValueError(
        f'checkpoint {path} provides {match["matched"]} of '
        f'{match["total"]} weights of the model '
        f'({100 * match["matched"] / total:.0f}%, at least '
        f'{100 * min_match:.0f}% needed); missing or mismatched{shape}: '
        f'{listed}. Is it a checkpoint of this config? '
        '(--min-checkpoint-match lowers the threshold for a checkpoint you '
        'know to be partial.)')


def add_trust_args(parser: argparse.ArgumentParser,
                   what: str = 'this one checkpoint') -> None:
    """Add ``--trust-checkpoint`` / ``--trust-checkpoint-global NAME`` (the
    same two flags on every tool that loads a checkpoint).

    Only the data-only constructors of
    :data:`mmtal_zoom.compat.TRUSTABLE_GLOBALS` can ever be allowed; see
    :func:`trust_context`.
    """
    from mmtal_zoom.compat import TRUSTABLE_GLOBALS
    names = ', '.join(sorted(TRUSTABLE_GLOBALS))
    group = parser.add_argument_group(
        'trusting a foreign checkpoint (UNSAFE for untrusted files, off by '
        'default)')
    group.add_argument(
        '--trust-checkpoint-global', action='append', default=[],
        metavar='MODULE.NAME',
        help=f'allow this pickled global for {what}; one name per flag, '
        'repeat for several. Only data-only constructors can be allowed '
        f'({names}); anything that can load, open, compile, import or run '
        'code is refused even when named. Loading stays weights_only')
    group.add_argument(
        '--trust-checkpoint', action='store_true',
        help=f'allow every global {what} lists, provided each is one of '
        'those data-only constructors (the file is refused otherwise)')


def trust_context(args: argparse.Namespace, path):
    """The context in which to load ``path`` given the flags of
    :func:`add_trust_args`: a :class:`mmtal_zoom.compat.trusted_checkpoint`
    for that one file, or a no-op without the flags.

    Raises:
        ValueError: a trust flag without a checkpoint to apply it to.
        mmtal_zoom.compat.CheckpointLoadError: a name that can never be
            allowed, or (``--trust-checkpoint``) a file that needs one; raised
            here, before anything in the file is read.
    """
    from mmtal_zoom.compat import trusted_checkpoint
    names = list(getattr(args, 'trust_checkpoint_global', None) or [])
    everything = bool(getattr(args, 'trust_checkpoint', False))
    if not names and not everything:
        return contextlib.nullcontext()
    if not path:
        raise ValueError('--trust-checkpoint / --trust-checkpoint-global '
                         'need a checkpoint to apply to')
    if everything:
        ctx = trusted_checkpoint(path, None)
        if names:  # both flags: the file's own list, plus the names given
            ctx = trusted_checkpoint(path, sorted(set(ctx.names) |
                                                  set(names)))
        return ctx
    return trusted_checkpoint(path, names)


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
    compat.apply()
    names = checkpoint_globals(path)
    torch_default = set(wou._get_allowed_globals())
    ours = set(compat.checkpoint_safe_global_names())
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
        prog='python -m mmtal_zoom.apis.checkpoint',
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
