"""The one place where mmtal_zoom works around broken upstream releases.

Everything here is guarded: each work-around checks that the problem exists
before it changes anything, and never edits files in site-packages. It runs
once, when ``mmtal_zoom`` is imported (so it also applies when a user runs
MMAction2's own ``tools/train.py`` with ``custom_imports = dict(imports=
['mmtal_zoom'])`` in the config).

Work-arounds (the pinned stack: torch 2.13.0, mmengine 0.10.7, mmcv-lite 2.1.0,
mmaction2 1.2.0):

1. ``mmaction.models`` cannot be imported from the mmaction2 1.2.0 wheel: it
   ships without ``mmaction/models/localizers/drn``. A meta-path finder
   provides that package in memory; its ``DRN`` raises a clear error if
   someone builds it.
2. numpy >= 2.4 removed ``np.trapz``, which ``ANetMetric`` calls. The
   requirements pin numpy < 2.4; if a newer numpy is present anyway,
   ``np.trapz`` is aliased to ``np.trapezoid`` (same maths).
3. CPU distributed training under ``--launcher pytorch``: mmengine's launcher
   calls ``torch.cuda.set_device`` unconditionally and defaults to the NCCL
   backend, and the runner wraps the model in DDP with
   ``device_ids=[LOCAL_RANK]``. Without CUDA we skip ``set_device``, use
   ``gloo``, and drop ``device_ids`` (which DDP forbids for CPU modules).
4. Checkpoints under torch >= 2.6 (``weights_only=True`` by default): the
   runner's own checkpoints no longer load. ``weights_only`` stays on; the
   globals mmengine's runner writes are allow-listed (``builtins.getattr``
   only through a guarded stand-in for HistoryBuffer's statistics), refusals
   name the file and the missing globals (or say it is truncated), and
   :class:`trusted_checkpoint` (``--trust-checkpoint`` on our tools) adds
   data-only constructors, and nothing else, for one file. A loaded
   ``HistoryBuffer`` cannot change its class's statistics registry.
5. ``ANetMetric`` under DDP keeps each video's ground truth on the rank that
   saw it; it is gathered with the results.
6. ``LoggerHook`` writes the test-metrics JSON on every rank at once (a
   corrupt file under ``dist_test.sh``); it is written on the main process
   only, atomically.
7. mmengine writes checkpoints and dumps in place (``LocalBackend.put``)
   and ``CheckpointHook`` deletes the oldest / previous best checkpoint
   before saving the new one: a full disk lost every checkpoint. Writes
   are atomic, and old checkpoints are deleted after the new one is
   complete.
"""
import builtins
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import pickle
import sys
import types

_APPLIED = False

# --------------------------------------------------------------------------
# 1. the missing ``mmaction.models.localizers.drn`` package
# --------------------------------------------------------------------------
_DRN_PKG = 'mmaction.models.localizers.drn'
_DRN_MOD = _DRN_PKG + '.drn'


def _mmaction_ships_drn() -> bool:
    """Whether the installed mmaction2 has ``models/localizers/drn`` on disk.

    Looked up on disk (not with ``find_spec``) because ``find_spec`` of a
    sub-module imports its parents, which is exactly what fails.
    """
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return True  # no mmaction at all: nothing to repair
    return any(
        os.path.isdir(os.path.join(loc, 'models', 'localizers', 'drn'))
        for loc in spec.submodule_search_locations)


def _build_drn_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f'<mmtal_zoom.compat stand-in for {name}>'
    if name == _DRN_PKG:
        module.__path__ = []  # a package, so ``.drn`` can be imported
        return module

    from mmaction.registry import MODELS

    class DRN:
        """Stand-in for MMAction2's DRN, absent from the mmaction2 1.2.0 wheel.

        Importing ``mmaction.models`` works again; building DRN does not.
        """

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'DRN is not available: the installed mmaction2 1.2.0 wheel '
                'does not ship mmaction/models/localizers/drn (a packaging '
                'bug). Install mmaction2 from source to use DRN.')

    # ``force`` is not used: if a real DRN is registered, it wins.
    if MODELS.get('DRN') is None:
        MODELS.register_module(name='DRN', module=DRN)
    module.DRN = DRN
    module.__all__ = ['DRN']
    return module


class _DRNStandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers only for the two missing module names; defers everything
    else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in (_DRN_PKG, _DRN_MOD):
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=fullname == _DRN_PKG)
        return None

    def create_module(self, spec):
        return _build_drn_module(spec.name)

    def exec_module(self, module):
        pass


def _install_drn_stand_in() -> bool:
    if _mmaction_ships_drn():
        return False
    if any(isinstance(f, _DRNStandInFinder) for f in sys.meta_path):
        return True
    # Appended: the normal finders are asked first, so a real drn wins.
    sys.meta_path.append(_DRNStandInFinder())
    # A previous failed ``import mmaction.models`` leaves nothing behind in
    # sys.modules for the failing package, so a retry now succeeds.
    return True


# --------------------------------------------------------------------------
# 2. ``np.trapz`` removed in numpy 2.4
# --------------------------------------------------------------------------
def _restore_np_trapz() -> bool:
    import numpy as np
    if hasattr(np, 'trapz'):
        return False
    np.trapz = np.trapezoid
    return True


# --------------------------------------------------------------------------
# 3. CPU DDP under mmengine's PyTorch launcher
# --------------------------------------------------------------------------
def _patch_cpu_distributed() -> bool:
    import torch
    if torch.cuda.is_available():
        return False
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed as mm_ddp

    original_init = dist_utils._init_dist_pytorch
    if getattr(original_init, '_mmtal_zoom_cpu', False):
        return True

    def _init_dist_pytorch_cpu(backend='gloo', init_backend='torch',
                               **kwargs):
        # No CUDA: skip torch.cuda.set_device and use gloo (NCCL needs GPUs).
        if init_backend != 'torch':
            return original_init(backend, init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch_dist.init_process_group(
            backend=backend,
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)

    _init_dist_pytorch_cpu._mmtal_zoom_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu

    ddp_cls = mm_ddp.MMDistributedDataParallel
    original_ddp_init = ddp_cls.__init__
    if not getattr(original_ddp_init, '_mmtal_zoom_cpu', False):

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            # DDP forbids device_ids for CPU modules; the runner always
            # passes [LOCAL_RANK].
            params = list(module.parameters())
            if params and params[0].device.type == 'cpu':
                kwargs['device_ids'] = None
                kwargs.pop('output_device', None)
            original_ddp_init(
                self, module,
                detect_anomalous_params=detect_anomalous_params, **kwargs)

        __init__._mmtal_zoom_cpu = True
        ddp_cls.__init__ = __init__
    return True


# --------------------------------------------------------------------------
# 4. checkpoints: torch >= 2.6 loads with ``weights_only=True`` (issue #8)
# --------------------------------------------------------------------------
# Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: only
# allow-listed globals may appear in the pickle. mmengine 0.10.7's runner
# writes more than tensors, so its own checkpoints no longer load (test,
# resume, ``load_from``). We keep ``weights_only=True`` and allow-list exactly
# what the runner writes. The list was derived from real checkpoints
# (runner with AdamW, LinearLR + CosineAnnealingLR, EMAHook, CheckpointHook
# with save_best / save_last, message hub; and stock BMN) by listing the
# GLOBAL opcodes of each file's ``data.pkl`` with ``pickletools``::
#
#     mmengine.logging.history_buffer.HistoryBuffer   (message hub scalars)
#     numpy._core.multiarray._reconstruct, numpy.ndarray  (numpy arrays)
#     numpy._core.multiarray.scalar                   (numpy scalars)
#     numpy.dtype                                     (their dtypes)
#     _codecs.encode                                  (bytes; torch allows it)
#     builtins.getattr                                (see below)
#
# plus torch's own defaults (OrderedDict, storages, _rebuild_tensor_v2).
# The dtype REDUCE returns an instance of a concrete dtype class (numpy 2.x:
# ``numpy.dtypes.Float64DType``...), and torch's BUILD opcode only sets the
# state of allow-listed *types*, so those classes are registered too (the
# fixed-width numeric, bool, str and bytes ones: never ``object``).
# numpy 1.x writes ``numpy.core.multiarray.*`` for the same two functions;
# both spellings are registered (pair form) so such checkpoints load too.
#
# ``builtins.getattr``: ``HistoryBuffer.__getstate__`` stores the class-level
# ``_statistics_methods`` registry, which pickles as ``getattr(HistoryBuffer,
# 'min')`` (and 'max', 'mean', 'current'). Allow-listing getattr would let a
# file fetch any attribute of any allowed object, so instead a guarded
# stand-in is registered under that name with torch's ``(callable, name)``
# pair form; it answers only HistoryBuffer's own statistics methods.
# ``HistoryBuffer.__setstate__`` then *updates the class registry* with what
# the file holds: a file could swap 'min' and 'max' for the whole process.
# It is wrapped so that a loaded state never changes the class (see
# :func:`_guard_history_buffer_setstate`).
#
# mmengine's local checkpoint loader is wrapped (re-registered for the ''
# scheme) so that a refusal names the file and the globals it needs, and a
# truncated or corrupt file is reported as such. ``weights_only`` is never
# turned off.
#
# Trusting one file (``--trust-checkpoint`` / ``--trust-checkpoint-global``,
# :class:`trusted_checkpoint`): only globals of :data:`TRUSTABLE_GLOBALS` can
# ever be added, for that one path. An allow-listed global is *called* by the
# unpickler with arguments from the file, so the list holds only data-only
# constructors: classes whose construction and ``__setstate__`` build a value
# from their arguments and nothing else -- no file or network access, no
# import, no compile / eval, no call of a callable taken from the file, no
# change to anything but the new object. Anything that can load (numpy.load,
# torch.load, mmengine.fileio.load, a nested pickle), open (``_io.open``,
# ``_io.FileIO``), compile or import (``Config.fromstring``, ``exec``,
# ``importlib``), or any other function, is refused even when named.
# Hand-written because torch has no such policy: ``safe_globals`` trusts
# whatever it is given.

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


def _history_buffer_statistics() -> frozenset:
    """Names of the statistics methods ``HistoryBuffer`` defines itself.

    Read from the class's ``_statistics_methods`` registry (filled by
    ``_set_default_statistics``: min, max, current, mean), keeping only the
    entries that are HistoryBuffer's own functions: those are the only ones
    that pickle as ``getattr(HistoryBuffer, name)``. Computed once, before
    any checkpoint is loaded (a loaded ``statistics_methods`` updates the
    class registry, so it must not widen this set later).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer()._set_default_statistics()
    return frozenset(
        name for name, fn in HistoryBuffer._statistics_methods.items()
        if HistoryBuffer.__dict__.get(name) is fn)


_HB_STATISTICS: frozenset = frozenset()


def _guarded_getattr(obj, name, *default):
    """Stands in for ``builtins.getattr`` inside ``weights_only`` loads.

    Only ``getattr(HistoryBuffer, s)`` for HistoryBuffer's own statistics
    methods ``s`` is answered; anything else raises ``UnpicklingError``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if (obj is HistoryBuffer and not default and type(name) is str
            and name in _HB_STATISTICS):
        return HistoryBuffer.__dict__[name]
    target = getattr(obj, '__qualname__', None) or type(obj).__qualname__
    module = getattr(obj, '__module__', None) or type(obj).__module__
    raise pickle.UnpicklingError(
        f'refused builtins.getattr({module}.{target}, {name!r}) in a '
        'checkpoint: mmtal_zoom only allows getattr(HistoryBuffer, '
        f'{"|".join(repr(s) for s in sorted(_HB_STATISTICS))}), which '
        'mmengine\'s message hub writes. This file is not a plain mmengine '
        'checkpoint; it may be malicious.')


def checkpoint_safe_globals() -> list:
    """The allow-list registered with ``torch.serialization.add_safe_globals``.

    Returns:
        list: classes/functions, or ``(callable, 'module.name')`` pairs
        where the name in the pickle differs from the callable's own.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    multiarray = (np._core.multiarray if hasattr(np, '_core')
                  else np.core.multiarray)
    entries = [HistoryBuffer, np.ndarray, np.dtype,
               (_guarded_getattr, 'builtins.getattr')]
    for fn in (multiarray._reconstruct, multiarray.scalar):
        for mod in ('numpy._core.multiarray', 'numpy.core.multiarray'):
            entries.append((fn, f'{mod}.{fn.__name__}'))
    # Concrete dtype classes (BUILD sets their state). Not 'O' (object),
    # 'V' (structured) nor datetimes.
    for code in ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'e',
                 'f', 'd', 'g', 'F', 'D', 'G', 'U', 'S'):
        cls = type(np.dtype(code))
        if cls is not np.dtype and cls not in entries:
            entries.append(cls)
    return entries


def _global_name(entry) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def checkpoint_safe_global_names() -> list:
    """Sorted ``module.name`` strings of :func:`checkpoint_safe_globals`."""
    return sorted({_global_name(e) for e in checkpoint_safe_globals()})


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
            'mmtal_zoom.compat.trusted_checkpoint in Python; see '
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


def _wrap_local_checkpoint_loader() -> bool:
    from mmengine.runner import checkpoint as mm_ckpt
    loaders = mm_ckpt.CheckpointLoader._schemes
    current = loaders.get('')
    if getattr(current, '_mmtal_zoom_safe', False):
        return True
    if current is not mm_ckpt.load_from_local:
        return False  # someone else replaced it: leave theirs alone
    original = current

    def load_from_local(filename, map_location):
        import torch
        path = os.path.realpath(os.path.expanduser(filename))
        names = _TRUSTED_CHECKPOINTS.get(path)
        try:
            if not names:
                return original(filename, map_location)
            already = set(torch.serialization.get_safe_globals())
            # torch's ``safe_globals`` context *removes* its entries on
            # exit: never hand it one that is permanently registered.
            entries = [e for e in map(_trustable_entry, names)
                       if e not in already and e[0] not in already]
            from mmengine.logging import print_log
            print_log(f'UNSAFE: trusting {path}: also allowing '
                      + ', '.join(names), logger='current', level=30)
            with torch.serialization.safe_globals(entries):
                return original(filename, map_location)
        except pickle.UnpicklingError as exc:
            if isinstance(exc, CheckpointLoadError):
                raise
            raise (_integrity_error(filename) or CheckpointLoadError(
                _explain_refusal(filename, exc, names is not None))) from exc
        except (RuntimeError, EOFError, OSError, KeyError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            error = _integrity_error(filename)
            if error is None:
                raise
            raise error from exc

    load_from_local.__doc__ = original.__doc__
    load_from_local._mmtal_zoom_safe = True
    load_from_local._mmtal_zoom_original = original
    mm_ckpt.CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    return True


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

        with mmtal_zoom.compat.trusted_checkpoint('old.pth',
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


def _guard_history_buffer_setstate() -> bool:
    """mmengine 0.10.7's ``HistoryBuffer.__setstate__`` does
    ``self._statistics_methods.update(state['statistics_methods'])`` on the
    *class* registry, so any unpickled buffer -- a checkpoint that passes the
    allow-list included -- can replace e.g. ``'min'`` by ``HistoryBuffer.max``
    for every buffer of the process (wrong logged statistics, wrong
    ``save_best`` decisions). Wrapped: a state may name a statistic that is
    registered already only with the same function; a new name is kept on
    that one instance; anything else is refused. The class is never changed.
    Can be deleted when mmengine stops writing loaded state into the class.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    original = HistoryBuffer.__setstate__
    if getattr(original, '_mmtal_zoom_guarded', False):
        return True

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f'HistoryBuffer state must be a dict, got '
                f'{type(state).__name__}')
        state = dict(state)
        given = {}
        for key in ('statistics_methods', '_statistics_methods'):
            methods = state.pop(key, None) or {}
            if not isinstance(methods, dict):
                raise pickle.UnpicklingError(
                    f'HistoryBuffer state: {key} must be a dict')
            given.update(methods)
        self._set_default_statistics()  # class-level defaults, as upstream
        registry = HistoryBuffer._statistics_methods
        extra = {}
        for name, fn in given.items():
            known = registry.get(name)
            if known is fn:
                continue
            if known is not None or not callable(fn):
                raise pickle.UnpicklingError(
                    f'refused HistoryBuffer state: it replaces the '
                    f'statistics method {name!r} ({known!r} -> {fn!r}); '
                    'mmengine never writes that. The file may be malicious.')
            extra[name] = fn
        self.__dict__.update(state)
        if extra:  # this instance only
            self._statistics_methods = {**registry, **extra}

    __setstate__.__doc__ = original.__doc__
    __setstate__._mmtal_zoom_guarded = True
    HistoryBuffer.__setstate__ = __setstate__
    return True


def _patch_ema_hook_state_dict_only() -> bool:
    """mmengine 0.10.7's ``EMAHook.after_load_checkpoint`` reads
    ``checkpoint['state_dict']`` unconditionally, so a config with EMA (the
    usual TAL recipe) cannot ``load_from`` a state-dict-only file (what users
    publish): ``KeyError: 'state_dict'``. The runner itself accepts such a
    file (``_load_checkpoint_to_model`` falls back to the whole dict); the
    hook is given the same view."""
    from mmengine.hooks import EMAHook
    original = EMAHook.after_load_checkpoint
    if getattr(original, '_mmtal_zoom_state_dict_only', False):
        return True

    def after_load_checkpoint(self, runner, checkpoint):
        if ('state_dict' not in checkpoint
                and 'ema_state_dict' not in checkpoint):
            checkpoint = dict(state_dict=checkpoint)
        return original(self, runner, checkpoint)

    after_load_checkpoint.__doc__ = original.__doc__
    after_load_checkpoint._mmtal_zoom_state_dict_only = True
    EMAHook.after_load_checkpoint = after_load_checkpoint
    return True


def _install_checkpoint_safety() -> bool:
    """Register the allow-list and wrap mmengine's local loader; idempotent."""
    global _HB_STATISTICS
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False  # torch < 2.4: weights_only is off by default there
    if not _HB_STATISTICS:
        _HB_STATISTICS = _history_buffer_statistics()
    # ``add_safe_globals`` unions into a set: calling it twice is harmless.
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _guard_history_buffer_setstate()
    _wrap_local_checkpoint_loader()
    _patch_ema_hook_state_dict_only()
    return True


# --------------------------------------------------------------------------
# 5. ANetMetric (AR@AN) under DDP: ground truth gathered with the results
#    (issue #5)
# --------------------------------------------------------------------------
# mmaction2 1.2.0's ``ANetMetric.process`` stores each video's ground truth in
# ``self.ground_truth`` of the process that evaluated it, but only
# ``self.results`` is gathered across processes; rank 0 then computes AR@AN
# and AUC against its own share of the ground truth (wrong numbers under
# ``dist_test.sh`` / ``dist_train.sh``). The fix carries each video's ground
# truth inside its gathered result (key ``_ANET_GT_KEY``) and rebuilds
# ``self.ground_truth`` from the gathered results before computing.
_ANET_GT_KEY = '_mmtal_zoom_anet_gt'


def _anet_metric_needs_gt_gathering(cls) -> bool:
    """The bug exists when ``process`` writes ``self.ground_truth``."""
    import inspect
    try:
        src = inspect.getsource(cls.process)
    except (OSError, TypeError):
        return False
    return 'self.ground_truth[' in src and hasattr(cls, 'compute_ARAN')


def _patch_anet_metric_ddp() -> bool:
    from mmaction.evaluation.metrics import anet_metric
    cls = anet_metric.ANetMetric
    if getattr(cls.process, '_mmtal_zoom_ddp', False):
        return True
    if not _anet_metric_needs_gt_gathering(cls):
        return False
    original_process = cls.process
    original_compute = cls.compute_metrics

    def process(self, data_batch, predictions):
        num_before = len(self.results)
        original_process(self, data_batch, predictions)
        if self.metric_type != 'AR@AN':
            return
        # attach the ground truth to this batch's results (copies: the
        # model's output dicts are left untouched)
        for i in range(num_before, len(self.results)):
            result = self.results[i]
            if not isinstance(result, dict) or 'video_name' not in result:
                continue
            video_id = result['video_name'][2:]
            if video_id in self.ground_truth:
                self.results[i] = {**result,
                                   _ANET_GT_KEY: self.ground_truth[video_id]}

    def compute_metrics(self, results):
        if self.metric_type == 'AR@AN' and any(
                isinstance(r, dict) and _ANET_GT_KEY in r for r in results):
            ground_truth = {}
            cleaned = []
            for r in results:
                if isinstance(r, dict) and _ANET_GT_KEY in r:
                    ground_truth[r['video_name'][2:]] = r[_ANET_GT_KEY]
                    r = {k: v for k, v in r.items() if k != _ANET_GT_KEY}
                cleaned.append(r)
            # exactly the evaluated videos of every process
            self.ground_truth = ground_truth
            results = cleaned
        return original_compute(self, results)

    process._mmtal_zoom_ddp = True
    compute_metrics._mmtal_zoom_ddp = True
    process.__doc__ = original_process.__doc__
    compute_metrics.__doc__ = original_compute.__doc__
    cls.process = process
    cls.compute_metrics = compute_metrics
    return True


# --------------------------------------------------------------------------
# 6. the test-metrics JSON under DDP
# --------------------------------------------------------------------------
def _patch_logger_hook_test_json() -> bool:
    """mmengine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test
    metrics to ``<log_dir>/<timestamp>.json`` on *every* rank, with a plain
    truncating write: under ``dist_test.sh`` two ranks write the same file at
    once and a shorter record can overwrite the start of a longer one,
    leaving invalid JSON (seen in ``tests/tools/test_train_test_dist.py``:
    ``...}6}``). The hook's module-level ``dump`` is replaced by one that
    writes on the main process only, through
    :func:`mmtal_zoom.utils.atomic_write_bytes`. Other ranks still log the
    metrics line."""
    from mmengine.fileio import dump as original
    from mmengine.hooks import logger_hook
    if getattr(logger_hook.dump, '_mmtal_zoom_main_process_only', False):
        return True
    if logger_hook.dump is not original:  # changed upstream: leave it
        return False

    def dump(obj, file=None, file_format=None, **kwargs):
        if not isinstance(file, (str, os.PathLike)):
            return original(obj, file, file_format, **kwargs)
        from mmengine import dist

        from .utils import atomic_write_bytes
        if not dist.is_main_process():
            return None
        file = os.fspath(file)
        text = original(obj, file_format=file_format
                        or file.rsplit('.', 1)[-1], **kwargs)
        atomic_write_bytes(text.encode('utf-8'), file)
        return None

    dump._mmtal_zoom_main_process_only = True
    logger_hook.dump = dump
    return True


# --------------------------------------------------------------------------
# 7. checkpoints and dumps written in place; the oldest checkpoint deleted
#    before the new one exists (issue 15, defect 2)
# --------------------------------------------------------------------------
def _atomic_local_backend() -> bool:
    """mmengine 0.10.7's ``LocalBackend.put`` / ``put_text`` open the
    destination with ``'w'`` and write into it: a full disk or a crash
    mid-write leaves a truncated file that looks valid, in place of the
    previous good one. Every local write through mmengine's file I/O goes
    there: ``runner.save_checkpoint`` (``epoch_N.pth``, ``best_*.pth``,
    ``last``), ``mmengine.dump`` (``DumpResults``, i.e. ``tools/test.py
    --dump``). Both now write through :func:`mmtal_zoom.utils.atomic_open`
    (temporary file in the same folder, fsync, rename). Can be deleted when
    mmengine's local backend writes atomically."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    if getattr(LocalBackend.put, '_mmtal_zoom_atomic', False):
        return True
    original_put, original_put_text = LocalBackend.put, LocalBackend.put_text

    def put(self, obj, filepath):
        from .utils import atomic_open
        with atomic_open(filepath) as f:
            f.write(obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        from .utils import atomic_open
        with atomic_open(filepath) as f:
            f.write(obj.encode(encoding))

    for new, old in ((put, original_put), (put_text, original_put_text)):
        new.__doc__ = old.__doc__
        new._mmtal_zoom_atomic = True
    LocalBackend.put, LocalBackend.put_text = put, put_text
    return True


class _DeferredRemovals:
    """Stands in for a hook's ``file_backend``: ``remove`` / ``rmtree`` are
    recorded instead of done; everything else is the real backend's."""

    def __init__(self, backend):
        self._backend = backend
        self.removed = []

    def remove(self, path):
        self.removed.append(('remove', path))

    def rmtree(self, path):
        self.removed.append(('rmtree', path))

    def __getattr__(self, name):
        return getattr(self._backend, name)


def _keep_old_checkpoint_until_saved(method):
    """Wrap a ``CheckpointHook`` method that removes an old checkpoint and
    then saves a new one: the removal happens after the save returned."""

    def wrapper(self, runner, *args, **kwargs):
        backend = getattr(self, 'file_backend', None)
        if backend is None or isinstance(backend, _DeferredRemovals):
            return method(self, runner, *args, **kwargs)
        proxy = self.file_backend = _DeferredRemovals(backend)
        try:
            result = method(self, runner, *args, **kwargs)
        finally:
            self.file_backend = backend
        # the new checkpoint is complete: the old one may go now (never a
        # path that was just written again)
        keep = {getattr(self, 'last_ckpt', None),
                getattr(self, 'best_ckpt_path', None),
                *(getattr(self, 'best_ckpt_path_dict', None) or {}).values()}
        for kind, path in proxy.removed:
            if path not in keep:
                getattr(backend, kind)(path)
        return result

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    wrapper._mmtal_zoom_deferred = True
    return wrapper


@contextlib.contextmanager
def _atomic_text_file(path, encoding='utf-8'):
    buf = io.StringIO()
    yield buf
    from .utils import atomic_write_bytes
    atomic_write_bytes(buf.getvalue().encode(encoding), path)


def _checkpoint_hook_open(file, mode='r', *args, **kwargs):
    """``open`` as seen by ``mmengine.hooks.checkpoint_hook``: its one
    write, ``last_checkpoint``, becomes atomic."""
    if mode in ('w', 'wt') and not args:
        return _atomic_text_file(file, kwargs.get('encoding') or 'utf-8')
    return builtins.open(file, mode, *args, **kwargs)


def _patch_checkpoint_hook_keep_until_saved() -> bool:
    """mmengine 0.10.7's ``CheckpointHook._save_checkpoint_with_step``
    deletes the oldest checkpoint (``max_keep_ckpts``) *before* writing the
    new one, and ``_save_best_checkpoint`` deletes the previous best before
    writing the new best: if the save fails (full disk, quota, crash), with
    ``max_keep_ckpts=1`` no usable checkpoint is left and ``--resume``
    fails. Both now delete only after the new file is complete (so the disk
    briefly holds one checkpoint more). ``last_checkpoint`` (what
    ``--resume`` without a path reads) was also written in place; it is
    written atomically. Can be deleted when mmengine saves before removing.
    """
    from mmengine.hooks import checkpoint_hook
    cls = checkpoint_hook.CheckpointHook
    names = ('_save_checkpoint_with_step', '_save_best_checkpoint')
    if not all(hasattr(cls, n) for n in names):
        return False  # upstream changed: leave it alone
    for name in names:
        method = getattr(cls, name)
        if not getattr(method, '_mmtal_zoom_deferred', False):
            setattr(cls, name, _keep_old_checkpoint_until_saved(method))
    checkpoint_hook.open = _checkpoint_hook_open  # module-level name
    return True


def _silence_mmcv_lite_warning() -> None:
    """mmcv-lite (no C++ ops) is the intended build; its import-time warning
    about ``MultiScaleDeformableAttention`` is noise for this plugin, which
    never uses that op."""
    import warnings
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')


def apply() -> dict:
    """Apply every work-around that is needed; idempotent.

    Returns:
        dict: which work-arounds were active, e.g. ``{'drn': True, ...}``.
    """
    global _APPLIED
    _silence_mmcv_lite_warning()
    status = dict(
        drn=_install_drn_stand_in(),
        np_trapz=_restore_np_trapz(),
        cpu_distributed=_patch_cpu_distributed(),
        checkpoints=_install_checkpoint_safety(),
        anet_metric_ddp=_patch_anet_metric_ddp(),
        test_json_ddp=_patch_logger_hook_test_json(),
        atomic_writes=_atomic_local_backend(),
        checkpoint_hook_keep_until_saved=(
            _patch_checkpoint_hook_keep_until_saved()),
    )
    _APPLIED = True
    return status
