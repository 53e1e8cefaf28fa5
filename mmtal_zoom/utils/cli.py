"""One error handler for every command-line tool.

Each tool in ``tools/`` defines ``main(argv=None) -> int`` decorated with
:func:`cli_main` and ends with ``sys.exit(main())``. Bad input (a missing
file, invalid JSON, NaN in an annotation, a refused checkpoint, ...) raises
one of :data:`USER_ERRORS` with a message that names the file, video or
field; the handler prints it as ONE line on stderr, ``error: <message>``,
and returns :data:`EXIT_USER_ERROR` -- no traceback. Anything else (a bug)
keeps its traceback. ``MMTAL_ZOOM_TRACEBACK=1`` shows the traceback of user
errors too (for bug reports).

Tests call ``main([...])`` in-process and read the return code and stderr.
"""
import functools
import os
import os.path as osp
import pickle
import re
import sys
from typing import Callable, Optional, Sequence

#: Errors that bad user input raises (files, configs, checkpoints, data);
#: they become a one-line message. ``RuntimeError`` covers torch's and
#: decord's errors on corrupt files. Programming errors (``AttributeError``,
#: ``IndexError``, ``AssertionError``, ...) keep their traceback.
USER_ERRORS = (OSError, ValueError, KeyError, TypeError, SyntaxError,
               EOFError, ImportError, RuntimeError, pickle.UnpicklingError)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (``KeyError`` without quotes)."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(
            exc.args[0], str):
        text = exc.args[0]
    else:
        text = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None \
            and str(exc.filename) not in text:
        text = f'{exc.filename}: {text}'
    if 'Original Traceback' in text:
        # re-raised from a DataLoader worker by torch: the message carries
        # the worker's traceback; keep its last line, the error itself
        last = [ln for ln in text.splitlines() if ln.strip()][-1]
        text = re.sub(r'^[A-Za-z_][\w.]*: ', '', last.strip())
    text = ' '.join(text.split())
    return text or type(exc).__name__


def report_error(message: str) -> int:
    """Print ``error: <message>`` (one line) on stderr; return the exit code
    of a user error."""
    sys.stdout.flush()
    print(f'error: {" ".join(str(message).split())}', file=sys.stderr)
    return EXIT_USER_ERROR


def cli_main(fn: Callable[[Optional[Sequence[str]]], int]):
    """Decorate a tool's ``main(argv=None) -> int`` (see the module doc)."""

    @functools.wraps(fn)
    def main(argv: Optional[Sequence[str]] = None) -> int:
        try:
            return fn(argv)
        except KeyboardInterrupt:
            print('interrupted', file=sys.stderr)
            return EXIT_INTERRUPTED
        except USER_ERRORS as exc:
            if os.environ.get('MMTAL_ZOOM_TRACEBACK'):
                raise
            return report_error(one_line(exc))

    return main


# ----------------------------------------------------------------------
# argparse types: a bad value is an argparse error naming the option
# ("argument --fps: must be a positive finite number, got 'nan'")
# ----------------------------------------------------------------------
def _float(text: str, what: str, ok) -> float:
    import argparse
    import math
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f'must be {what}, got {text!r}')
    return value


def finite_float(text: str) -> float:
    """A finite number (not NaN / Infinity)."""
    return _float(text, 'a finite number', lambda v: True)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _float(text, 'a positive finite number', lambda v: v > 0)


def fraction(text: str) -> float:
    """A number in (0, 1] (a tIoU threshold, a ratio)."""
    return _float(text, 'a number in (0, 1]', lambda v: 0 < v <= 1)


def ratio(text: str) -> float:
    """A number in [0, 1]."""
    return _float(text, 'a number in [0, 1]', lambda v: 0 <= v <= 1)


def positive_int(text: str) -> int:
    """An integer >= 1."""
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be an integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'must be a positive integer, got {text!r}')
    return value


def add_switches(parser, switches: dict) -> None:
    """Add on/off options (``action='store_true'``) to an argparse
    ``parser``, in order: ``switches`` maps each flag to its help."""
    for flag, help_ in switches.items():
        parser.add_argument(flag, action='store_true', help=help_)


def set_launcher_and_work_dir(cfg, args) -> None:
    """``tools/train.py`` / ``tools/test.py``: ``cfg.launcher`` from
    ``--launcher``; ``cfg.work_dir`` from ``--work-dir``, else the config's,
    else ``./work_dirs/<config name>`` (as MMAction2's tools do)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def doc_parser(doc: str, description: Optional[str] = None):
    """A tool's parser whose help is its module docstring ``doc``, kept as
    written: all of it as the description; or, given ``description``, the
    docstring after its first paragraph (the usage examples) as the
    epilog."""
    import argparse
    if description is None:
        return argparse.ArgumentParser(
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter)
    return argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split('\n\n', 1)[1])


def localizer_parser(doc: str):
    """The parser of a tool that runs a trained localizer (``tools/infer.py``,
    ``tools/export_onnx.py``): :func:`doc_parser` with the positional
    ``config`` and ``checkpoint``."""
    parser = doc_parser(doc)
    parser.add_argument('config', help='localizer config')
    parser.add_argument('checkpoint', help='localizer checkpoint (.pth)')
    return parser


def write_json_output(obj, path: Optional[str]) -> None:
    """A tool's optional ``--out``: nothing without a path, else ``obj``
    written to it as JSON atomically and ``wrote <path>`` printed."""
    if path:
        from .io import atomic_write_json
        atomic_write_json(obj, path)
        print(f'wrote {path}')
