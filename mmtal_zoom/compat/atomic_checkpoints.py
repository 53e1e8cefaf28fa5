"""Checkpoints and dumps written in place; the oldest checkpoint deleted
before the new one exists (mmengine 0.10.7).

A full disk or a crash mid-save left a truncated file that looks valid, and
with ``max_keep_ckpts=1`` no usable checkpoint. Writes become atomic and old
checkpoints are deleted only after the new one is complete. Delete when
mmengine's ``LocalBackend`` writes atomically and ``CheckpointHook`` saves
before it removes.
"""
import builtins
import contextlib
import io


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
        from ..utils import atomic_open
        with atomic_open(filepath) as f:
            f.write(obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        from ..utils import atomic_open
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
    from ..utils import atomic_write_bytes
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
