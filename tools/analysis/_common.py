"""Helpers shared by the experiment drivers in ``tools/analysis/``.

* JSON in and out (atomic writes: an interrupted driver never leaves a
  half-written result that a resumed run would trust);
* running a repository tool in a fresh single-threaded process, and a
  driver's own resumable training runs (:func:`run_logged`);
* a small job queue for independent runs (``--jobs``);
* mean +- std formatting and Markdown tables.
"""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from mmtal_zoom.utils import atomic_write_json  # noqa: E402


def write_json(obj, path: str) -> str:
    """Atomic ``json.dump`` (see
    :func:`mmtal_zoom.utils.atomic_write_json`)."""
    return atomic_write_json(obj, path)


def read_json(path: str, default=None):
    if not osp.isfile(path):
        return default
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def single_thread_env(threads: int = 1) -> Dict[str, str]:
    """The environment of a child run: ``threads`` OpenMP / MKL threads and
    the repository importable."""
    env = dict(os.environ)
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[key] = str(threads)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    return env


def run_tool(args: Sequence[str], log_path: str, threads: int = 1,
             check: bool = True) -> int:
    """Run ``python <args>`` from the repository root, output to
    ``log_path``; raise ``RuntimeError`` naming the log on failure."""
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'$ {" ".join(args)}\n')
        log.flush()
        rc = subprocess.call([sys.executable, *args], cwd=REPO,
                             env=single_thread_env(threads), stdout=log,
                             stderr=subprocess.STDOUT)
    if check and rc != 0:
        raise RuntimeError(f'{" ".join(args[:2])} failed with exit code {rc}'
                           f'; see {log_path}')
    return rc


def load_repo_tool(name: str):
    """The module ``tools/<name>.py`` of this repository (a script, not a
    package module), e.g. ``load_repo_tool('eval_detection')``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        f'mmtal_tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_embedded_dataset(data_root: str) -> None:
    """``FileNotFoundError`` with the command that generates the dataset
    when ``<data_root>/annotations.json`` is missing."""
    if not osp.isfile(osp.join(data_root, 'annotations.json')):
        raise FileNotFoundError(
            f'{data_root}/annotations.json is missing: generate the '
            'embedded dataset first (python tools/make_synthetic_'
            f'dataset.py --out {data_root}).')


def run_logged(cmd: Sequence[str], run_dir: str, what: str,
               env: Optional[Dict[str, str]] = None,
               cwd: Optional[str] = None, announce_done: bool = False
               ) -> None:
    """Run ``cmd`` with its output in ``<run_dir>/stdout.log`` (raises
    ``CalledProcessError`` on failure), announcing ``training <what>`` (and
    ``done <what>``) with the time."""
    print(f'[{time.strftime("%H:%M:%S")}] training {what}', flush=True)
    os.makedirs(run_dir, exist_ok=True)
    with open(osp.join(run_dir, 'stdout.log'), 'w') as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env=env, cwd=cwd)
    if announce_done:
        print(f'[{time.strftime("%H:%M:%S")}] done {what}', flush=True)


def train_timed(runner) -> Tuple[float, int]:
    """``runner.train()`` (an mmengine ``Runner``); returns its wall time in
    seconds and the iterations it ran."""
    t0 = time.time()
    runner.train()
    return time.time() - t0, runner.iter


def run_jobs(fn: Callable, items: Iterable, jobs: int = 1) -> List:
    """``[fn(item) for item in items]`` with ``jobs`` runs at a time (each
    run is a child process, so threads suffice). A failed run prints its
    error and yields ``None``; the others go on."""
    items = list(items)

    def safe(item):
        t0 = time.time()
        try:
            out = fn(item)
            print(f'[done {time.time() - t0:6.0f} s] {item}', flush=True)
            return out
        except Exception as exc:  # noqa: BLE001 - reported, run continues
            print(f'[FAILED] {item}: {exc}', flush=True)
            return None

    if jobs <= 1:
        return [safe(i) for i in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(safe, items))


def mean_std(values: Sequence[float]) -> Optional[tuple]:
    values = [v for v in values if v is not None]
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), std, len(values)


def fmt_mean_std(values: Sequence[float], scale: float = 1.0) -> str:
    ms = mean_std(values)
    if ms is None:
        return '-'
    m, s, n = ms
    if n == 1:
        return f'{m * scale:.2f} (1 seed)'
    return f'{m * scale:.2f} ± {s * scale:.2f}'


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in r) + ' |' for r in rows]
    return '\n'.join(lines)
