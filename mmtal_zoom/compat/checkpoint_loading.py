"""Runner checkpoints under ``torch.load(weights_only=True)``.

Upstream: since torch 2.6 ``torch.load`` defaults to ``weights_only=True``
and mmengine 0.10.7's runner checkpoints no longer load
(open-mmlab/mmengine#1655; mmengine's proposed fix, open-mmlab/mmengine#1650,
turns ``weights_only`` off, which we never do). ``weights_only`` stays on;
the globals the runner writes are allow-listed here. Which checkpoints a
*user* may trust beyond that is a policy, not a work-around: it lives in
:mod:`mmtal_zoom.apis.checkpoint`. Also here, because they concern loading
the same files: mmengine's ``HistoryBuffer.__setstate__`` writing loaded
state into its class, and ``EMAHook`` refusing state-dict-only files. Delete
when mmengine's checkpoints load with ``weights_only=True`` as written.
"""
import os
import pickle

from ..apis.checkpoint import (_TRUSTED_CHECKPOINTS, CheckpointLoadError,
                               _explain_refusal, _integrity_error,
                               _trustable_entry)

# --------------------------------------------------------------------------
# 4. checkpoints: torch >= 2.6 loads with ``weights_only=True``
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
