"""Atomic file writes: a crash or a full disk never leaves a half-written
result behind, and never destroys the previous good file.

Every writer here goes through :func:`atomic_open`: the data is written to a
temporary file in the destination folder, flushed and ``fsync``-ed, given the
mode a plain ``open(path, 'w')`` would give it (``0o666 & ~umask`` for a new
file, the old file's mode when replacing one; ``tempfile.mkstemp`` alone
gives 0600), renamed over ``path`` with ``os.replace`` and the folder is
``fsync``-ed. On any error the temporary file is removed and ``path`` keeps
its previous content.
"""
import contextlib
import json
import os
import os.path as osp
import stat
import tempfile
from typing import Any, BinaryIO, Iterator


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows
    (``/proc/self/status``); else set and restored at once."""
    try:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: str) -> int:
    """What ``open(path, 'w')`` leaves: the old mode, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. not permitted on this platform: the rename is done
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str) -> Iterator[BinaryIO]:
    """``with atomic_open(path) as f: f.write(...)``: a binary file object
    whose content replaces ``path`` only when the block ends without error.

    A symlink is followed (its target is replaced); an existing target that is
    not a regular file (``/dev/null``, a FIFO) is written directly, as
    renaming over it would replace the device by a file. Parent folders are
    created.
    """
    path = osp.realpath(os.fspath(path))
    if osp.exists(path) and not osp.isfile(path):
        with open(path, 'wb') as f:
            yield f
        return
    out_dir = osp.dirname(path)
    os.makedirs(out_dir, exist_ok=True)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp', dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            # e.g. ENOSPC / EFBIG from write(): say which file, and that
            # the previous one is intact
            raise type(exc)(exc.errno, f'{exc.strerror or exc}: not written '
                            '(the previous file, if any, is unchanged)',
                            path) from exc
        raise
    _fsync_dir(out_dir)


def atomic_write_bytes(data: bytes, path: str) -> str:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    Returns ``path``.
    """
    with atomic_open(path) as f:
        f.write(data)
    return path


def atomic_write_json(obj: Any, path: str, indent: int = 2) -> str:
    """``json.dump`` to ``path`` atomically (see :func:`atomic_open`)."""
    text = json.dumps(obj, indent=indent)
    return atomic_write_bytes(text.encode('utf-8'), path)


def atomic_write_text(text: str, path: str, encoding: str = 'utf-8') -> str:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    return atomic_write_bytes(text.encode(encoding), path)


def atomic_save_figure(fig, path: str, **savefig_kwargs) -> str:
    """``fig.savefig`` (matplotlib) to ``path`` atomically; the format is
    taken from the file name's extension."""
    fmt = savefig_kwargs.pop('format', None) or path.rsplit('.', 1)[-1]
    with atomic_open(path) as f:
        fig.savefig(f, format=fmt, **savefig_kwargs)
    return path


class JSONInputError(ValueError):
    """A JSON input file cannot be used; the message names the file."""


def _reject_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise JSONInputError(
                f'key "{key}" appears twice in one object (JSON readers keep '
                'only the last one: the earlier entry would be dropped '
                'silently)')
        out[key] = value
    return out


def load_json(path: str, what: str = 'JSON file',
              encoding: str = 'utf-8') -> Any:
    """``json.load`` that fails with one line naming ``path`` and the reason
    (missing, empty, not ``encoding`` text, invalid JSON with line and
    column, a key repeated in one object -- which ``json.load`` would
    silently resolve to the last value).

    NaN / Infinity are parsed as floats (Python's default); the checks of
    each field reject them where a number must be finite.

    Raises:
        FileNotFoundError: no such file.
        JSONInputError: anything else (a ``ValueError``).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    with open(path, 'rb') as f:
        data = f.read()
    if not data.strip():
        raise JSONInputError(f'{what} {path} is empty')
    try:
        text = data.decode('utf-8-sig' if encoding.lower().replace(
            '_', '-') in ('utf-8', 'utf8') else encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        detail = (f'byte 0x{data[exc.start]:02x} at offset {exc.start}'
                  if isinstance(exc, UnicodeDecodeError) else str(exc))
        raise JSONInputError(
            f'{what} {path} is not {encoding} text ({detail}); re-save it '
            'as UTF-8') from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except JSONInputError as exc:
        raise JSONInputError(f'{what} {path}: {exc}') from None
    except json.JSONDecodeError as exc:
        raise JSONInputError(
            f'{what} {path} is not valid JSON: {exc.msg} (line {exc.lineno}'
            f', column {exc.colno})') from None


def load_config(path: str):
    """``mmengine.Config.fromfile`` with errors that name the file (mmengine
    reports a syntax error of the config without its path).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be parsed (syntax error), naming it and
            the line.
    """
    from mmengine.config import Config
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    try:
        return Config.fromfile(path)
    except SyntaxError as exc:
        where = f', line {exc.lineno}' if exc.lineno else ''
        raise ValueError(f'config {path}: syntax error{where}: '
                         f'{exc.msg or exc}') from None
