"""The measurements of docs/cltdr_gmg.md, re-runnable.

Sub-commands (each writes JSON under ``--work-dir`` and is resumable: a
training run whose ``metrics.json`` exists is not repeated):

* ``speed``: GMG with the FFT global branch vs. the same model with vanilla
  self-attention as the global branch (paper Table 8): parameters, GFLOPs
  and training-step time (forward in loss mode + backward, median) of the
  whole model at each ``--seq-lens`` T, measured side by side by
  ``tools/benchmark.py`` (one fresh process per model); plus the global
  branch alone (one GMG block's ``GlobalFilter`` vs ``GlobalSelfAttention``,
  forward + backward) to show how each scales with T.
* ``compare``: the uniform baseline vs. CLTDR-GMG on the embedded
  benchmark, same schedule, several seeds: train on ``train``, then
  evaluate the final weights (raw, not EMA: ``Runner.val()`` re-runs
  ``EMAHook.before_run``, which re-seeds the average) on ``val`` and
  ``test`` (no checkpoint is selected on any split).
* ``ablation``: GMG branch / gate ablation (paper Tables 6-7) and the
  self-attention global branch (Table 8) on the embedded benchmark.
* ``report``: Markdown tables of everything measured so far.

Example (the commands behind docs/cltdr_gmg.md)::

    python tools/analysis/cltdr_gmg_experiments.py speed
    python tools/analysis/cltdr_gmg_experiments.py compare --seeds 0 1 2
    python tools/analysis/cltdr_gmg_experiments.py ablation --seeds 0 \
        --max-epochs 6 --variants gmg_full no_instant no_local no_global \
        no_gate
    python tools/analysis/cltdr_gmg_experiments.py report
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import (REPO, read_json, require_embedded_dataset,  # noqa
                     run_logged, train_timed, write_json)
from cltdr_ablations import PAPER_MODEL, nest  # noqa: E402

from mmtal_zoom.utils.cli import doc_parser  # noqa: E402

BASELINE = osp.join(REPO, 'configs', 'baseline',
                    'actionformer_synthetic-feat_1xb2-30e_embedded.py')
CLTDR = osp.join(REPO, 'configs', 'cltdr_gmg',
                 'cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py')

# name -> overrides of the CLTDR-GMG embedded config's neck
ABLATIONS = {
    'gmg_full': {},
    'no_instant': dict(use_instant=False),
    'no_local': dict(use_local=False),
    'no_global': dict(use_global=False),
    'no_gate': dict(gate='none'),
    'global_attention': dict(global_mixer='attention'),
}


def parse_args(argv=None):
    parser = doc_parser(
        __doc__,
        'Re-run the CLTDR-GMG measurements of '
        'docs/cltdr_gmg.md on the embedded benchmark.')
    parser.add_argument('command',
                        choices=['speed', 'compare', 'ablation', 'report',
                                 '_run'])
    parser.add_argument('--work-dir', default='work_dirs/cltdr_gmg_exp',
                        help='where results and runs go')
    parser.add_argument('--data-root', default='data/embedded',
                        help='embedded dataset (tools/make_synthetic_'
                        'dataset.py writes it)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='training seeds (compare / ablation)')
    parser.add_argument('--seq-lens', type=int, nargs='+',
                        default=[512, 2304, 8192], help='T for speed')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed steps per model and T (speed)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads for the speed measurements')
    parser.add_argument('--max-epochs', type=int, default=None,
                        help='override the schedule length (every model)')
    parser.add_argument('--variants', nargs='+', default=list(ABLATIONS),
                        choices=list(ABLATIONS),
                        help='ablation variants to train')
    # internal, one training run
    parser.add_argument('--config', help=argparse.SUPPRESS)
    parser.add_argument('--seed', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--run-dir', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def variant_config(work_dir: str, name: str, base: str, neck: Dict) -> str:
    """Write a config that inherits ``base``, sets the paper's model
    (``PAPER_MODEL``: the CPU config's defaults differ from it) and
    overrides its neck."""
    path = osp.join(work_dir, 'configs', f'{name}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    model = nest(PAPER_MODEL)['model']
    model['neck'].update(neck)
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\nmodel = {model!r}\n')
    return path


# ----------------------------------------------------------------------
# speed
# ----------------------------------------------------------------------
def branch_timing(seq_lens: List[int], repeats: int, dims: int = 128
                  ) -> List[Dict]:
    """Forward + backward of the global branch alone (batch 1, ``dims``
    channels): the FFT filter vs. vanilla self-attention, median ms."""
    import torch

    from mmtal_zoom.models.layers import GlobalFilter, GlobalSelfAttention
    torch.manual_seed(0)
    branches = dict(fft=GlobalFilter(dims),
                    attention=GlobalSelfAttention(dims, num_heads=4))
    rows = []
    for t in seq_lens:
        x = torch.randn(1, dims, t, requires_grad=True)
        mask = torch.ones(1, t, dtype=torch.bool)
        row = dict(seq_len=t)
        for name, module in branches.items():
            times = []
            for i in range(repeats + 1):
                t0 = time.perf_counter()
                module(x, mask).square().mean().backward()
                if i:  # the first pass is a warm-up
                    times.append((time.perf_counter() - t0) * 1000)
            row[f'{name}_ms'] = statistics.median(times)
        row['ratio'] = row['fft_ms'] / row['attention_ms']
        rows.append(row)
        print(f'global branch T={t}: fft {row["fft_ms"]:.1f} ms, attention '
              f'{row["attention_ms"]:.1f} ms, ratio {row["ratio"]:.3f}',
              flush=True)
    return rows


def thumos_param_counts() -> Dict:
    """Parameters of the THUMOS14-size model (512-d) with either global
    branch, neck alone and whole model (Table 8 reports whole models)."""
    from mmengine.config import Config

    import mmtal_zoom  # noqa: F401
    from mmaction.registry import MODELS
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'cltdr_gmg',
                 'cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py'))
    counts = {}
    for mixer in ('fft', 'attention'):
        cfg.model.neck.global_mixer = mixer
        model = MODELS.build(cfg.model)
        counts[mixer] = dict(
            model=sum(p.numel() for p in model.parameters()),
            neck=sum(p.numel() for p in model.neck.parameters()))
    return counts


def cmd_speed(args):
    import torch

    from mmtal_zoom.utils.benchmark import benchmark_configs
    torch.set_num_threads(args.threads)
    fft = variant_config(args.work_dir, 'gmg_fft', CLTDR, {})
    att = variant_config(args.work_dir, 'gmg_attention', CLTDR,
                         dict(global_mixer='attention'))
    result = dict(model=[], branch=[], threads=args.threads)
    for t in args.seq_lens:
        rows = benchmark_configs([fft, att], threads=args.threads,
                                 seq_len=t, mode='train',
                                 repeats=args.repeats, warmup=1)
        result['model'].append(dict(seq_len=t, fft=rows[0],
                                    attention=rows[1]))
        write_json(result, osp.join(args.work_dir, 'speed.json'))
    result['branch'] = branch_timing(args.seq_lens, args.repeats)
    result['thumos_params'] = thumos_param_counts()
    write_json(result, osp.join(args.work_dir, 'speed.json'))


# ----------------------------------------------------------------------
# training runs
# ----------------------------------------------------------------------
def cmd_run(args):
    """One training run: train on 'train', evaluate the final weights on
    'val' and 'test', write metrics.json in the run dir."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmtal_zoom  # noqa: F401

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.run_dir
    # both models predict exactly the dataset's classes
    with open(osp.join(args.data_root, 'annotations.json')) as f:
        database = json.load(f)['database']
    labels = {a['label'] for v in database.values()
              for a in v.get('annotations', [])}
    cfg.model.head.num_classes = len(labels)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.ann_file = osp.join(args.data_root,
                                               'annotations.json')
        cfg[split].dataset.data_prefix = dict(
            feature=osp.join(args.data_root, 'features'))
    if args.max_epochs:
        cfg.train_cfg.max_epochs = args.max_epochs
        scheds = [s for s in cfg.param_scheduler
                  if s.get('begin', 0) < args.max_epochs]
        for sched in scheds:
            sched['end'] = min(sched.get('end', args.max_epochs),
                               args.max_epochs)
            if 'T_max' in sched:
                sched['T_max'] = sched['end'] - sched['begin']
        cfg.param_scheduler = scheds
    # no validation during training: the final weights are evaluated once
    cfg.train_cfg.val_begin = cfg.train_cfg.max_epochs + 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=False)
    runner = Runner.from_cfg(cfg)
    train_s, _ = train_timed(runner)
    val = runner.val()
    test = runner.test()
    write_json(dict(config=args.config, seed=args.seed, train_s=train_s,
                    val=val, test=test),
               osp.join(args.run_dir, 'metrics.json'))


def run_training(args, name: str, config: str, seed: int) -> Dict:
    if args.max_epochs:
        name = f'{name}_e{args.max_epochs}'
    run_dir = osp.join(args.work_dir, 'runs', f'{name}_seed{seed}')
    out = osp.join(run_dir, 'metrics.json')
    if not osp.isfile(out):
        require_embedded_dataset(args.data_root)
        cmd = [sys.executable, osp.abspath(__file__), '_run', '--config',
               config, '--seed', str(seed), '--run-dir', run_dir,
               '--data-root', args.data_root, '--work-dir', args.work_dir]
        if args.max_epochs:
            cmd += ['--max-epochs', str(args.max_epochs)]
        run_logged(cmd, run_dir, f'{name} seed {seed}')
    return read_json(out)


def cmd_compare(args):
    results = {}
    for name, config in (('baseline', BASELINE), ('cltdr_gmg', CLTDR)):
        results[name] = [run_training(args, name, config, s)
                         for s in args.seeds]
        write_json(results, osp.join(args.work_dir, 'compare.json'))


def cmd_ablation(args):
    results = {}
    for name in args.variants:
        neck = ABLATIONS[name]
        config = (CLTDR if not neck else
                  variant_config(args.work_dir, name, CLTDR, neck))
        run_name = 'cltdr_gmg' if not neck else name
        results[name] = [run_training(args, run_name, config, s)
                         for s in args.seeds]
        write_json(dict(max_epochs=args.max_epochs, results=results),
                   osp.join(args.work_dir, 'ablation.json'))


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
def mean_std(values: List[float]) -> str:
    values = [100 * v for v in values]
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def metric_table(results: Dict[str, List[Dict]], split: str) -> str:
    names = list(results)
    keys = [k for k in results[names[0]][0][split]
            if '/mAP@' in k or k.endswith('average_mAP') or '/mAP_len' in k]
    header = ['model', 'seeds'] + [k.split('/', 1)[1] for k in keys]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for name in names:
        runs = results[name]
        cells = [name, str(len(runs))] + [
            mean_std([r[split][k] for r in runs]) for k in keys
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def cmd_report(args):
    parts = []
    speed = read_json(osp.join(args.work_dir, 'speed.json'))
    if speed:
        parts.append(
            f'### GMG-FFT vs self-attention, training step (threads='
            f'{speed["threads"]})\n')
        parts.append('| T | params FFT | params SA | GFLOPs FFT | GFLOPs SA '
                     '| step ms FFT | step ms SA | FFT / SA |')
        parts.append('|---|---|---|---|---|---|---|---|')
        for row in speed['model']:
            f, a = row['fft'], row['attention']
            parts.append(
                f"| {row['seq_len']} | {f['params'] / 1e6:.3f} M | "
                f"{a['params'] / 1e6:.3f} M | {f['gflops']:.1f} | "
                f"{a['gflops']:.1f} | {f['latency_ms']:.0f} | "
                f"{a['latency_ms']:.0f} | "
                f"{f['latency_ms'] / a['latency_ms']:.2f} |")
        if speed.get('branch'):
            parts.append('\nGlobal branch alone (D = 128, forward + backward):'
                         '\n')
            parts.append('| T | FFT ms | attention ms | FFT / attention |')
            parts.append('|---|---|---|---|')
            for row in speed['branch']:
                parts.append(f"| {row['seq_len']} | {row['fft_ms']:.2f} | "
                             f"{row['attention_ms']:.2f} | "
                             f"{row['ratio']:.3f} |")
        if speed.get('thumos_params'):
            tp = speed['thumos_params']
            parts.append(
                '\nTHUMOS14-size model (512-d, 6 levels) parameters: FFT '
                f"{tp['fft']['model'] / 1e6:.2f} M (neck "
                f"{tp['fft']['neck'] / 1e6:.2f} M), self-attention "
                f"{tp['attention']['model'] / 1e6:.2f} M (neck "
                f"{tp['attention']['neck'] / 1e6:.2f} M).")
    for name in ('compare', 'ablation'):
        results = read_json(osp.join(args.work_dir, f'{name}.json'))
        if not results:
            continue
        if name == 'ablation':
            parts.append(f"\nAblation schedule: max_epochs = "
                         f"{results['max_epochs'] or 'config default'}")
            results = results['results']
        for split in ('test', 'val'):
            parts.append(f'\n### {name} ({split} split, mAP %, mean ± std '
                         'over seeds)\n')
            parts.append(metric_table(results, split))
        times = {n: statistics.mean(r['train_s'] for r in runs)
                 for n, runs in results.items()}
        parts.append('\nMean training time (s): ' + ', '.join(
            f'{n} {t:.0f}' for n, t in times.items()))
    text = '\n'.join(parts) + '\n'
    print(text)
    with open(osp.join(args.work_dir, 'report.md'), 'w') as f:
        f.write(text)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    dict(speed=cmd_speed, compare=cmd_compare, ablation=cmd_ablation,
         report=cmd_report, _run=cmd_run)[args.command](args)


if __name__ == '__main__':
    main()
