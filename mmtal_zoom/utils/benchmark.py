"""Side-by-side model benchmarks: params, FLOPs, latency, peak memory.

Measurement code of ``tools/benchmark.py`` (which adds the command line and
the printed table) and of the analysis drivers that compare models
(mmdetection keeps the same kind of code in ``mmdet/utils/benchmark.py``).

* ``params``: number of parameters;
* ``gflops``: FLOPs of one pass counted on the executed graph by
  ``torch.utils.flop_counter.FlopCounterMode`` (matrix products,
  convolutions, attention; torch has no formula for FFTs, so the standard
  ``2.5 N log2 N`` per real FFT of length ``N`` (``5 N log2 N`` complex) is
  added for ``aten._fft_r2c / _fft_c2r / _fft_c2c``; element-wise ops are
  not counted, as everywhere with FlopCounterMode; mmengine's
  ``get_model_complexity_info`` counts modules, not ops, and misses the
  functional attention and FFTs used here, hence torch's counter);
* ``latency_ms``: median wall time of ``repeats`` passes after ``warmup``
  passes (``torch.inference_mode`` unless ``mode='train'``);
* ``peak_mem_mb``: extra memory of one pass over the memory held before it.
  CUDA: ``torch.cuda.max_memory_allocated``. CPU: the process's peak
  resident set size (``VmHWM`` of ``/proc/self/status``, reset through
  ``/proc/self/clear_refs``) minus its resident size just before the pass;
  :func:`measure_isolated` measures in a fresh worker process, where memory
  kept by the allocator from earlier models cannot hide any of it.

Modes: ``tensor`` runs backbone -> neck -> head forward (the raw network, no
post-processing); ``predict`` adds decoding and NMS; ``train`` is one
training step without the optimizer update: forward in loss mode on random
ground truth + backward.
"""
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

MODES = ('tensor', 'predict', 'train')


# ----------------------------------------------------------------------
# FLOP formulas for the FFT ops torch's counter does not know
# ----------------------------------------------------------------------
def _fft_flops(shape, dims, complex_input: bool) -> int:
    numel = math.prod(shape)
    flops = 0
    per = 5.0 if complex_input else 2.5
    for d in dims:
        n = shape[d]
        if n > 1:
            flops += per * numel * math.log2(n)
    return int(flops)


def _fft_r2c_flop(input_shape, dim, *args, out_shape=None, **kwargs):
    return _fft_flops(input_shape, dim, complex_input=False)


def _fft_c2r_flop(input_shape, dim, *args, out_shape=None, **kwargs):
    return _fft_flops(out_shape, dim, complex_input=False)


def _fft_c2c_flop(input_shape, dim, *args, out_shape=None, **kwargs):
    return _fft_flops(input_shape, dim, complex_input=True)


FFT_FLOPS = {
    torch.ops.aten._fft_r2c: _fft_r2c_flop,
    torch.ops.aten._fft_c2r: _fft_c2r_flop,
    torch.ops.aten._fft_c2c: _fft_c2c_flop,
}


# ----------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------
def _read_status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakMemory:
    """Extra memory (MB) of the code run inside the ``with`` block."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mb = None
        self.method = None

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            self.method = 'cuda_max_memory_allocated'
        elif _reset_peak_rss() and _read_status_kb('VmRSS') is not None:
            self.base = _read_status_kb('VmRSS')
            self.method = 'rss_peak_minus_rss'
        else:
            import resource
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.method = 'ru_maxrss_delta'
        return self

    def __exit__(self, *exc):
        if self.method == 'cuda_max_memory_allocated':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.mb = (peak - self.base) / 2**20
        elif self.method == 'rss_peak_minus_rss':
            self.mb = max(_read_status_kb('VmHWM') - self.base, 0) / 1024
        else:
            import resource
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.mb = max(peak - self.base, 0) / 1024
        return False


# ----------------------------------------------------------------------
# one config
# ----------------------------------------------------------------------
def input_dim_of(model_cfg) -> int:
    for part in ('backbone', 'neck', 'head'):
        sub = model_cfg.get(part)
        if sub and 'in_channels' in sub:
            return int(sub['in_channels'])
    raise ValueError('Cannot find the input feature dimension in the '
                     'config (no backbone / neck / head in_channels); pass '
                     '--input-dim.')


def random_data_samples(batch_size: int, seq_len: int, num_classes: int,
                        generator: torch.Generator) -> List:
    """Videos of ``seq_len`` snippets with 4 random ground-truth actions
    each (grid units), and the metainfo prediction needs."""
    from mmengine.structures import InstanceData

    from mmaction.structures import ActionDataSample
    samples = []
    for i in range(batch_size):
        lengths = torch.randint(2, max(3, seq_len // 8), (4, ),
                                generator=generator).float()
        starts = torch.rand(4, generator=generator) * (seq_len - lengths)
        labels = torch.randint(0, num_classes, (4, ), generator=generator)
        sample = ActionDataSample()
        sample.gt_instances = InstanceData(
            segments=torch.stack([starts, starts + lengths], dim=1),
            labels=labels)
        sample.set_metainfo(dict(
            video_name=f'bench_{i}', duration=seq_len * 4 / 30.0, fps=30.0,
            feat_stride=4, num_frames=16, feat_len=seq_len, feat_offset=0))
        samples.append(sample)
    return samples


def measure_config(config: str,
                   seq_len: int = 2304,
                   batch_size: int = 1,
                   repeats: int = 10,
                   warmup: int = 2,
                   mode: str = 'tensor',
                   device: str = 'cpu',
                   input_dim: Optional[int] = None,
                   seed: int = 0,
                   checkpoint: Optional[str] = None,
                   inputs: Optional[str] = None) -> Dict:
    """Build the model of ``config`` and measure it in this process (see
    the module doc): params, GFLOPs, median latency, peak memory.

    ``checkpoint``: trained weights to load (random weights without one);
    ``inputs``: a ``.npy`` of features ``(C, T)`` to run on instead of
    random ones (``seq_len`` / ``input_dim`` then come from it; batch 1):
    a model whose cost depends on its input, such as ATR's router, is then
    measured as it runs on real data."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmtal_zoom  # noqa: F401  (registers the components)
    from mmaction.registry import MODELS

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    torch.manual_seed(seed)
    device = torch.device(device)
    model = MODELS.build(cfg.model)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model = model.to(device)
    num_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(seed)
    if inputs:
        import numpy as np
        x = torch.from_numpy(np.load(inputs)).float()[None].to(device)
        batch_size, dim, seq_len = x.shape
    else:
        dim = input_dim or input_dim_of(cfg.model)
        x = torch.randn(batch_size, dim, seq_len, generator=gen).to(device)
    mask = torch.ones(batch_size, seq_len, dtype=torch.bool, device=device)
    num_classes = int(cfg.model.get('head', {}).get('num_classes', 1))
    samples = random_data_samples(batch_size, seq_len, num_classes, gen)
    for s in samples:
        s.gt_instances = s.gt_instances.to(device)

    if mode == 'train':
        model.train()

        def run_once():
            model.zero_grad(set_to_none=True)
            losses = model(x, samples, mode='loss', masks=mask)
            sum(v for v in losses.values()).backward()
    else:
        model.eval()

        def run_once():
            with torch.inference_mode():
                model(x, samples if mode == 'predict' else None, mode=mode,
                      masks=mask)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    with PeakMemory(device) as mem:
        run_once()
        sync()
    for _ in range(warmup):
        run_once()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_once()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    with FlopCounterMode(display=False, custom_mapping=FFT_FLOPS) as counter:
        run_once()
    return dict(
        config=config,
        checkpoint=checkpoint,
        inputs=inputs,
        mode=mode,
        seq_len=seq_len,
        batch_size=batch_size,
        input_dim=dim,
        device=str(device),
        threads=torch.get_num_threads(),
        params=num_params,
        gflops=counter.get_total_flops() / 1e9,
        latency_ms=statistics.median(times),
        latency_ms_all=times,
        peak_mem_mb=mem.mb,
        peak_mem_method=mem.method,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
    )


def measure_isolated(config: str, threads: Optional[int] = None,
                     **kwargs) -> Dict:
    """:func:`measure_config` in a fresh Python process (``threads``:
    its ``torch.set_num_threads``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'row.json')
        job = dict(config=config, threads=threads, kwargs=kwargs, out=out)
        proc = subprocess.run(
            [sys.executable, '-m', 'mmtal_zoom.utils.benchmark',
             json.dumps(job)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'Benchmark of {config} failed:\n'
                               f'{proc.stderr[-4000:]}')
        with open(out) as f:
            return json.load(f)


def benchmark_configs(configs: Sequence[str], isolate: bool = True,
                      threads: Optional[int] = None, **kwargs) -> List[Dict]:
    """One row per config, in order (see :func:`measure_config` for the
    keyword arguments); each in a fresh process unless ``isolate=False``."""
    for config in configs:
        if not os.path.isfile(config):
            raise FileNotFoundError(f'Config file not found: {config}')
    rows = []
    for config in configs:
        print(f"benchmarking {config} (mode={kwargs.get('mode', 'tensor')}, "
              f"T={kwargs.get('seq_len', 2304)})", file=sys.stderr,
              flush=True)
        if isolate:
            rows.append(measure_isolated(config, threads=threads, **kwargs))
        else:
            if threads is not None:
                torch.set_num_threads(threads)
            rows.append(measure_config(config, **kwargs))
    return rows


def format_table(rows: List[Dict]) -> str:
    """Plain-text table; ``x first`` columns are ratios to the first row."""
    first = rows[0]

    def ratio(row, key):
        if not first[key]:
            return '-'
        return f'{row[key] / first[key]:.2f}x'

    head = (f"{'config':<44} {'params(M)':>9} {'GFLOPs':>9} "
            f"{'latency(ms)':>11} {'peak(MB)':>9} | {'params':>7} "
            f"{'GFLOPs':>7} {'latency':>7} {'memory':>7}")
    lines = [head, '-' * len(head)]
    for row in rows:
        name = os.path.splitext(os.path.basename(row['config']))[0]
        lines.append(
            f"{name[:44]:<44} {row['params'] / 1e6:>9.3f} "
            f"{row['gflops']:>9.3f} {row['latency_ms']:>11.1f} "
            f"{row['peak_mem_mb']:>9.1f} | {ratio(row, 'params'):>7} "
            f"{ratio(row, 'gflops'):>7} {ratio(row, 'latency_ms'):>7} "
            f"{ratio(row, 'peak_mem_mb'):>7}")
    return '\n'.join(lines)


def _worker(job: str) -> None:
    """``python -m mmtal_zoom.utils.benchmark JOB_JSON``: one config,
    measured in this fresh process, row written to ``job['out']``."""
    from mmtal_zoom.utils import atomic_write_json
    job = json.loads(job)
    if job.get('threads') is not None:
        torch.set_num_threads(int(job['threads']))
    atomic_write_json(measure_config(job['config'], **job['kwargs']),
                      job['out'])


if __name__ == '__main__':
    _worker(sys.argv[1])
