"""``zoom_experiments.py pareto`` / ``report``: the PNG and the Markdown
tables of everything measured so far under ``--work-dir``."""
import os
import os.path as osp
import statistics
import sys
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import read_json, write_json  # noqa: E402
from _zoom_adaptivity import adaptivity_table  # noqa: E402

from mmtal_zoom.utils import atomic_save_figure  # noqa: E402

TIOUS = ('0.3', '0.4', '0.5', '0.6', '0.7')


def collect(args) -> Dict[str, List[Dict]]:
    runs = {}
    root = osp.join(args.work_dir, 'runs')
    if not osp.isdir(root):
        return runs
    for run in sorted(os.listdir(root)):
        m = read_json(osp.join(root, run, 'metrics.json'))
        if m:
            runs.setdefault(run.rpartition('_seed')[0], []).append(m)
    return runs


def metric(m: Dict, split: str, key: str) -> float:
    return 100 * m[split][f'tal/{key}']


def mean_std(vals: List[float]) -> str:
    if len(vals) == 1:
        return f'{vals[0]:.2f}'
    return f'{statistics.mean(vals):.2f} ± {statistics.stdev(vals):.2f}'


SHORT = ('mAP_len<2s', 'mAP_len2-5s')  # the short-instance buckets


def cmd_pareto(args):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cost = read_json(osp.join(args.work_dir, 'cost.json'), {})
    inf = cost.get('inference_test_videos', {})
    runs = collect(args)
    pts = []
    for name, stats in inf.items():
        ms = [m for m in runs.get(name, []) if m['seed'] == 0]
        if not ms:
            continue
        pts.append(dict(name=name, gflops=stats['gflops_per_video'],
                        mean_tau=stats['mean_tau'],
                        avg_map=metric(ms[0], 'test', 'average_mAP'),
                        map07=metric(ms[0], 'test', 'mAP@0.7')))
    if not pts:
        raise RuntimeError('nothing to plot: run compare/budgets and cost.')
    fig, ax = plt.subplots(figsize=(5.5, 4))
    atr = sorted([p for p in pts if p['name'].startswith('atr_bdr')
                  and 'kd' not in p['name']], key=lambda p: p['gflops'])
    ax.plot([p['gflops'] for p in atr], [p['avg_map'] for p in atr], 'o-',
            label='ATR + BDR (budgets)')
    for p in pts:
        ax.annotate(f"{p['name']} (tau={p['mean_tau']:.2f})",
                    (p['gflops'], p['avg_map']), fontsize=7,
                    xytext=(3, 3), textcoords='offset points')
        if not p['name'].startswith('atr_bdr') or 'kd' in p['name']:
            ax.plot(p['gflops'], p['avg_map'], 's', label=p['name'])
    ax.set_xlabel('GFLOPs per test video (executed graph)')
    ax.set_ylabel('test average mAP [0.3:0.7] (%)')
    ax.set_title('embedded benchmark, seed 0')
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = osp.join(args.work_dir, 'pareto.png')
    atomic_save_figure(fig, out, dpi=130)
    write_json(pts, osp.join(args.work_dir, 'pareto.json'))
    print(f'wrote {out}')


def cmd_report(args):
    runs = collect(args)
    lines = []
    if runs:
        any_m = next(iter(runs.values()))[0]
        lines += [f'### Embedded benchmark, test split (mean ± std over '
                  f'seeds; {any_m["max_epochs"]} epochs, crop '
                  f'{any_m["crop"]})', '',
                  '| model | seeds | ' + ' | '.join(
                      f'mAP@{t}' for t in TIOUS) + ' | avg | ' +
                  ' | '.join(SHORT) + ' | val avg | s/iter |',
                  '|---' * (len(TIOUS) + 7) + '|']
        for name, ms in runs.items():
            cells = [mean_std([metric(m, 'test', f'mAP@{t}') for m in ms])
                     for t in TIOUS]
            avg = mean_std([metric(m, 'test', 'average_mAP') for m in ms])
            short = ' | '.join(
                mean_std([metric(m, 'test', k) for m in ms]) for k in SHORT)
            val = mean_std([metric(m, 'val', 'average_mAP') for m in ms])
            spi = statistics.mean(m['s_per_iter'] for m in ms)
            lines.append(f'| {name} | {len(ms)} | ' + ' | '.join(cells) +
                         f' | {avg} | {short} | {val} | {spi:.2f} |')
    bench = read_json(osp.join(args.work_dir, 'bench.json'))
    if bench:
        lines += ['', '### Inference, random weights (router at its budget)'
                  f', threads={bench["threads"]}', '',
                  '| T | model | GFLOPs | latency ms | peak MB | FLOPs ratio '
                  '| latency ratio |', '|---|---|---|---|---|---|---|']
        for res in bench['results']:
            first = res['rows'][0]
            for r in res['rows']:
                lines.append(
                    f"| {res['seq_len']} | "
                    f"{osp.basename(r['config'])[:-3]} | {r['gflops']:.2f} | "
                    f"{r['latency_ms']:.1f} | {r['peak_mem_mb']:.1f} | "
                    f"{r['gflops'] / first['gflops']:.2f} | "
                    f"{r['latency_ms'] / first['latency_ms']:.2f} |")
    cost = read_json(osp.join(args.work_dir, 'cost.json'), {})
    if cost.get('train_step'):
        ts = cost['train_step']
        lines += ['', f'### Training cost per step (batch {ts["batch"]}, '
                  f'T={ts["seq_len"]}, random weights, median of '
                  f'{ts["repeats"]})', '',
                  '| model | step ms | GFLOPs | time ratio | FLOPs ratio |',
                  '|---|---|---|---|---|']
        for n, r in ts['rows'].items():
            lines.append(f"| {n} | {r['step_ms']:.0f} | {r['gflops']:.1f} | "
                         f"{r['time_ratio']:.2f} | {r['flops_ratio']:.2f} |")
    if cost.get('inference_test_videos'):
        inf = cost['inference_test_videos']
        ref = inf.get('uniform')
        lines += ['', '### Inference on the test videos, trained weights '
                  '(seed 0)', '',
                  '| model | mean tau | tau std | GFLOPs/video | ms/video | '
                  'FLOPs ratio | latency ratio |',
                  '|---|---|---|---|---|---|---|']
        for n, r in inf.items():
            fr = r['gflops_per_video'] / ref['gflops_per_video'] if ref else 0
            lr = r['latency_ms_per_video'] / ref['latency_ms_per_video'] \
                if ref else 0
            lines.append(f"| {n} | {r['mean_tau']:.3f} | "
                         f"{r.get('tau_std', float('nan')):.4f} | "
                         f"{r['gflops_per_video']:.2f} | "
                         f"{r['latency_ms_per_video']:.1f} | {fr:.2f} | "
                         f"{lr:.2f} |")
    lines += adaptivity_table(args)
    print('\n'.join(lines))
