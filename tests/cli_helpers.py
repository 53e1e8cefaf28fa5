"""Run the command-line tools in tests (not a test module).

``run_tool`` calls a tool's ``main(argv)`` in the test process (no 4-6 s
interpreter + torch start-up per call); ``run_tool_subprocess`` runs it as
``python tools/<name>.py`` for the few end-to-end checks of exit code and
stderr. Both return ``(returncode, stdout, stderr)``.
"""
import contextlib
import functools
import importlib.util
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / 'tools'


@functools.lru_cache(maxsize=None)
def load_tool(name: str):
    """The module ``tools/<name>.py`` (imported once per process)."""
    path = TOOLS / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'mmtal_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runner_options(tool: str) -> list:
    """``--cfg-options`` that give an in-process runner its own experiment
    name: mmengine keys its MessageHub / Visualizer singletons by the name,
    a timestamp by default, so two runners built in the same second would
    share them."""
    if tool not in ('train', 'test'):
        return []
    return ['--cfg-options', f'experiment_name=t{uuid.uuid4().hex}']


def run_tool(name: str, argv) -> tuple:
    """``tools/<name>.py``'s ``main(argv)`` in-process; argparse errors
    (``SystemExit``) are returned as their exit code."""
    tool = load_tool(name)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = tool.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
            if isinstance(code, str):
                print(code, file=sys.stderr)
                code = 1
            rc = 0 if code is None else code
    return rc, out.getvalue(), err.getvalue()


def run_tool_subprocess(name: str, argv, timeout: int = 240) -> tuple:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('MMTAL_ZOOM_TRACEBACK', None)
    proc = subprocess.run(
        [sys.executable, str(TOOLS / f'{name}.py'), *map(str, argv)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ''
