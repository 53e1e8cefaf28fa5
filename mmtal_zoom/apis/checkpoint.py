"""Loading checkpoints safely: what a user may trust, and the tools' flags.

``torch.load(weights_only=True)`` (torch >= 2.6's default, kept on
everywhere) refuses any pickled global that is not allow-listed;
:mod:`mmtal_zoom.compat.checkpoint_loading` allow-lists exactly what
mmengine's runner writes. This module is the *policy* on top of it:

* :data:`TRUSTABLE_GLOBALS` and :class:`trusted_checkpoint`: the data-only
  constructors a user may allow for one named file, and nothing else;
* :func:`add_trust_args` / :func:`trust_context`: the same two flags
  (``--trust-checkpoint``, ``--trust-checkpoint-global``) on every tool that
  loads a checkpoint;
* refusal and integrity messages that name the file and the globals, and
  never print a command that would load a refused file;
* :func:`check_checkpoint_matches_model`: a checkpoint that matches too few
  of a model's weights is refused (mmengine loads non-strictly).

Listing the globals a file needs, without running it:
``python -m mmtal_zoom.apis.checkpoint_inspect CKPT`` (see
:mod:`mmtal_zoom.apis.checkpoint_inspect`).

Trusting one file: only globals of :data:`TRUSTABLE_GLOBALS` can ever be
added, for that one path. An allow-listed global is *called* by the
unpickler with arguments from the file, so the list holds only data-only
constructors: classes whose construction and ``__setstate__`` build a value
from their arguments and nothing else -- no file or network access, no
import, no compile / eval, no call of a callable taken from the file, no
change to anything but the new object. Anything that can load (numpy.load,
torch.load, mmengine.fileio.load, a nested pickle), open (``_io.open``,
``_io.FileIO``), compile or import (``Config.fromstring``, ``exec``,
``importlib``), or any other function, is refused even when named.
Hand-written because torch has no such policy: ``safe_globals`` trusts
whatever it is given.
"""
import argparse
import contextlib
import os
import pickle

__all__ = ['TRUSTABLE_GLOBALS', 'CheckpointLoadError', 'trusted_checkpoint',
           'add_trust_args', 'trust_context', 'checkpoint_weight_match',
           'check_checkpoint_matches_model', 'check_checkpoint_classes',
           'read_checkpoint']

#: ``name as written in the pickle -> why constructing it is data-only``.
TRUSTABLE_GLOBALS = {
    'argparse.Namespace':
        'an attribute bag (training scripts store their parsed args); '
        'NEWOBJ + BUILD only fill its __dict__',
    'datetime.date': 'a C value type parsed from bytes / integers',
    'datetime.datetime': 'a C value type parsed from bytes / integers; its '
        'tzinfo must itself be an allowed object (datetime.timezone)',
    'datetime.time': 'a C value type parsed from bytes / integers',
    'datetime.timedelta': 'a C value type built from integers',
    'datetime.timezone': 'a fixed UTC offset (a timedelta) and a name',
    'decimal.Decimal': 'a number parsed from a string or tuple',
    'fractions.Fraction': 'a number parsed from a string or two integers',
    'uuid.UUID': 'a 128-bit integer; __setstate__ sets it',
    'pathlib.PurePosixPath': 'a path *name*: constructing it never touches '
        'the file system',
    'pathlib.PosixPath': 'as PurePosixPath (the object is not opened)',
    'pathlib.PureWindowsPath': 'a path name, as PurePosixPath',
    'builtins.frozenset': 'an immutable set of already-built items',
    'builtins.range': 'three integers',
    'builtins.slice': 'three already-built values',
}

# {realpath: tuple of allowed names}
_TRUSTED_CHECKPOINTS: dict = {}


class CheckpointLoadError(pickle.UnpicklingError):
    """A checkpoint was refused by the ``weights_only`` unpickler.

    A :class:`pickle.UnpicklingError` (what torch raises), with a message
    that names the file, the missing globals and the opt-in.
    """


def _trustable_entry(name: str):
    """``(object, name)`` for a name of :data:`TRUSTABLE_GLOBALS`.

    Raises:
        CheckpointLoadError: the name is not on the list (nothing is
            imported for it).
    """
    import importlib
    if name not in TRUSTABLE_GLOBALS:
        raise CheckpointLoadError(
            f'{name} is never allowed by mmtal_zoom, not even for a trusted '
            'checkpoint: only data-only constructors can be allowed ('
            + ', '.join(sorted(TRUSTABLE_GLOBALS)) + '), never anything '
            'that can load, open, compile, import or run code. A checkpoint '
            'that needs it is not a weights file: do not load it.')
    module, _, attr = name.rpartition('.')
    return getattr(importlib.import_module(module), attr), name


def _checkpoint_problem(path: str):
    """Why ``path`` cannot be a complete ``torch.save`` file, or ``None``.

    Read without unpickling anything: an empty file, a zip archive whose
    central directory or member CRCs are broken (a truncated write), or a
    file that is neither a zip nor a legacy (pre-1.6) torch pickle.
    """
    import zipfile
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            head = f.read(4)
    except OSError as exc:
        return f'cannot be read ({exc.strerror or exc})'
    if size == 0:
        return 'is empty (0 bytes)'
    if head.startswith(b'PK'):
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            return (f'is a truncated or corrupt zip archive ({size} bytes: '
                    f'{exc})')
        if bad is not None:
            return f'is corrupt (member {bad} fails its CRC check)'
        return None
    if not head.startswith(b'\x80'):
        return 'is not a checkpoint written by torch.save'
    return None  # a legacy pickle: torch's own error is the best we have


def _integrity_error(filename: str):
    problem = _checkpoint_problem(filename)
    if problem is None:
        return None
    return CheckpointLoadError(
        f'checkpoint {filename} {problem}; it may have been cut short by a '
        'full disk or an interrupted copy. Use another checkpoint (the '
        'previous epoch_*.pth) or copy it again.')


def _explain_refusal(path: str, exc: Exception, trusted: bool) -> str:
    """A one-line refusal message naming the file and the globals.

    It never spells out a command line that would load the file: the flags
    are named only when every missing global is one of
    :data:`TRUSTABLE_GLOBALS`.
    """
    import torch
    try:
        missing = sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001  (legacy / not a zip checkpoint)
        missing = None
    reason = str(exc).replace(torch.serialization.UNSAFE_MESSAGE, '')
    # torch's message starts with generic advice to set weights_only=False;
    # keep only the unpickler's own words.
    for marker in ('WeightsUnpickler error: ', 'Weights only load failed. '):
        if marker in reason:
            reason = reason.split(marker, 1)[1]
    reason = reason.split('Check the documentation of torch.load')[0]
    # ... and not torch's advice to allow-list whatever the file names
    reason = reason.split(' Please use `torch.serialization.')[0]
    reason = ' '.join(reason.split())
    parts = [f'Refused to load checkpoint {path!r} with torch.load('
             f'weights_only=True): {reason}']
    never = [n for n in missing or [] if n not in TRUSTABLE_GLOBALS]
    if missing:
        parts.append('Globals in this file that are not allow-listed: '
                     + ', '.join(missing) + '.')
    if never:
        parts.append('Never allowed, not even for a trusted file: '
                     + ', '.join(never) + ' (they can load, open, compile, '
                     'import or run code, or are not known to be data-only). '
                     'Do not load this file.')
    elif 'refused builtins.getattr' in reason:
        parts.append('This file is not a plain mmengine checkpoint. '
                     'Do not load it.')
    elif missing and not trusted:
        parts.append(
            'mmtal_zoom allows what mmengine\'s runner writes. These are '
            'data-only constructors that can be allowed for this one file, '
            'only if you trust it: --trust-checkpoint-global NAME for each '
            '(or --trust-checkpoint) on the tool that loads it, or '
            'mmtal_zoom.apis.checkpoint.trusted_checkpoint in Python; see '
            'docs/troubleshooting.md. Never set '
            'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD: it turns the check off for '
            'every file.')
    elif trusted:
        parts.append(
            'The file was trusted, but torch\'s weights_only unpickler still '
            'cannot load it; mmtal_zoom never falls back to full pickle. If '
            'you wrote the file yourself, re-save its weights as a plain '
            'state dict.')
    return ' '.join(parts)


class trusted_checkpoint:
    """UNSAFE for untrusted files: allow a few data-only globals for one
    checkpoint.

    While active, when mmengine's checkpoint loader (``load_checkpoint``,
    ``Runner`` ``load_from`` / ``resume``) reads exactly ``path``, the named
    globals are allowed in addition to the default allow-list. Only names of
    :data:`TRUSTABLE_GLOBALS` (data-only constructors) can be given; any
    other name raises :class:`CheckpointLoadError` here, before anything is
    read. ``names=None`` allows every global the file lists (read statically
    with ``torch.serialization.get_unsafe_globals_in_checkpoint``) and is
    refused as a whole when one of them is not on that list. Loading stays
    ``weights_only=True``; nothing is ever loaded with full pickle.

    Example::

        with mmtal_zoom.apis.checkpoint.trusted_checkpoint('old.pth',
                                                  ['argparse.Namespace']):
            load_checkpoint(model, 'old.pth')
    """

    def __init__(self, path, names=None):
        self.path = os.path.realpath(os.path.expanduser(os.fspath(path)))
        if names is None:
            names = self._listed_globals(self.path)
        self.names = tuple(sorted(set(names)))
        for name in self.names:
            _trustable_entry(name)  # refuse anything else, early
        self._previous = None

    @staticmethod
    def _listed_globals(path: str) -> list:
        """Globals the file needs beyond the default allow-list; refused as
        a whole when one of them can never be allowed."""
        import torch
        if not os.path.isfile(path):
            return []  # the loader reports the missing file
        try:
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # noqa: BLE001  (legacy / corrupt: nothing to add)
            return []
        never = sorted(n for n in names if n not in TRUSTABLE_GLOBALS)
        if never:
            raise CheckpointLoadError(
                f'Refused to trust checkpoint {path!r}: it needs '
                + ', '.join(never) + ', never allowed by mmtal_zoom, not '
                'even with --trust-checkpoint: only data-only constructors '
                'can be allowed, never anything that can load, open, '
                'compile, import or run code. Do not load this file.')
        return names

    def __enter__(self):
        from ..compat.checkpoint_loading import _wrap_local_checkpoint_loader
        _wrap_local_checkpoint_loader()
        self._previous = _TRUSTED_CHECKPOINTS.get(self.path)
        _TRUSTED_CHECKPOINTS[self.path] = self.names
        return self

    def __exit__(self, *exc_info):
        if self._previous is None:
            _TRUSTED_CHECKPOINTS.pop(self.path, None)
        else:
            _TRUSTED_CHECKPOINTS[self.path] = self._previous
        return False


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
                                   min_match: float = 1.0,
                                   checkpoint=None) -> dict:
    """Refuse a checkpoint that provides less than ``min_match`` of the
    model's weights (mmengine's runner loads non-strictly: the rest would
    keep their random initial values and the metrics would be a random
    model's). The file is read with mmengine's loader (weights_only, the
    trust of :func:`trust_context` applies), unless ``checkpoint`` gives
    what was read from ``path`` already.

    Raises:
        ValueError: one line naming the file, how much matched and the
            missing prefixes.
    """
    ckpt = read_checkpoint(path) if checkpoint is None else checkpoint
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


def read_checkpoint(path: str):
    """A checkpoint file's content, read by mmengine's loader on the CPU
    (weights_only: the trust of :func:`trust_context` applies)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(path, map_location='cpu')


def check_checkpoint_classes(path: str, classes, checkpoint=None) -> None:
    """Refuse to test a checkpoint on data with other classes than those it
    trained on.

    A detector's label ``k`` is named ``classes[k]`` of the dataset it is
    tested on, and that dataset orders the classes of its own annotation
    file (by ``label_id``, then name). A file with one class more or less
    shifts the name of every label after it: the metrics would be computed
    silently on wrong names. mmengine stores the training dataset's
    ``metainfo`` in the checkpoint (``meta.dataset_meta``) but compares it
    only when resuming, hence this check. A checkpoint or dataset without a
    class list (e.g. MMAction2's proposal datasets) is not checked.
    ``checkpoint``: what was read from ``path`` already (else it is read).

    Raises:
        ValueError: one line naming the file and the classes that differ.
    """
    ckpt = read_checkpoint(path) if checkpoint is None else checkpoint
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    trained = (dataset_meta.get('classes')
               if isinstance(dataset_meta, dict) else None)
    if not trained or not classes or list(trained) == list(classes):
        return
    only_ckpt = sorted(set(trained) - set(classes))
    only_data = sorted(set(classes) - set(trained))
    diff = (f'only in the checkpoint: {only_ckpt[:5]}, only in the test '
            f'data: {only_data[:5]}' if only_ckpt or only_data else
            'the same names in another order')
    raise ValueError(
        f'checkpoint {path} was trained on {len(trained)} classes, the test '
        f'data has {len(classes)} ({diff}): its labels would name the wrong '
        'classes. Test it on an annotation file with the classes it was '
        'trained on.')


def add_trust_args(parser: argparse.ArgumentParser,
                   what: str = 'this one checkpoint') -> None:
    """Add ``--trust-checkpoint`` / ``--trust-checkpoint-global NAME`` (the
    same two flags on every tool that loads a checkpoint).

    Only the data-only constructors of
    :data:`TRUSTABLE_GLOBALS` can ever be allowed; see
    :func:`trust_context`.
    """
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
    :func:`add_trust_args`: a :class:`trusted_checkpoint`
    for that one file, or a no-op without the flags.

    Raises:
        ValueError: a trust flag without a checkpoint to apply it to.
        CheckpointLoadError: a name that can never be
            allowed, or (``--trust-checkpoint``) a file that needs one; raised
            here, before anything in the file is read.
    """
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
