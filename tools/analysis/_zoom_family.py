"""``zoom_experiments.py family``: the matched uniform-depth curve and ATR at
several budgets on one preset of the benchmark family, with 3 seeds, as the
seed's Fig. 3 asks (accuracy against inference GFLOPs).

The points are the ATR + BDR configuration and its equal-parameter uniform
control (``temporal-zoom-uniform-bdr_...``) with only the depth or the budget
changed: uniform depth ``d`` runs ``d`` of the ``K = 4`` deep blocks on every
token (``num_deep = d``); ATR budget ``b`` sets the router's
``budget_target``. Each point is a small config written under
``<work-dir>/configs/`` (``_base_`` = the repository config, one key
changed) and trained by ``robustness.py`` exactly as the family's other runs
(the config's own schedule, only the data changed). Then, per trained run:
GFLOPs per test video on the executed graph (trained weights, the test
videos at their own lengths; ATR's cost depends on where its router sends
tokens), the mean and std of ``tau``, and the run's test / val mAP.

Whether ATR lies *above* the uniform curve: the uniform points' mean test
average mAP is interpolated linearly in GFLOPs at each ATR point's GFLOPs
(no extrapolation: an ATR point cheaper than the shallowest or dearer than
the deepest uniform model is reported as outside the curve). The difference
carries the seed spread of both sides (std columns).

Distillation (``--kd-teacher RUN_DIR``): adds ATR + BDR at each
``--kd-budgets`` with the head wrapped in ``DistillationHead`` (its default,
classification KD) and a ``DistillationHook`` that loads the trained teacher
of ``RUN_DIR`` (its ``config.py`` and last checkpoint, e.g. the uniform full
depth run of this curve): one teacher for every student seed, the seed's
"distillation from a uniform-depth teacher" as a curve point of its own.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import (REPO, markdown_table, read_json, run_tool,  # noqa: E402
                     write_json)
from _zoom_cost import measure_inference, test_videos  # noqa: E402
from _zoom_runs import CFG  # noqa: E402
from robustness import last_checkpoint  # noqa: E402

from mmtal_zoom.utils import atomic_save_figure  # noqa: E402
from mmtal_zoom.utils.io import atomic_write_text  # noqa: E402


def curve_configs(args) -> List[Tuple[str, str, dict]]:
    """``(name, config path, point)`` for every depth and budget; writes the
    configs under ``<work_dir>/configs``."""
    folder = osp.abspath(osp.join(args.work_dir, 'configs'))
    os.makedirs(folder, exist_ok=True)
    out = []
    for d in args.depths:
        out.append((f'zoom-uniform-bdr-d{d}', CFG['uniform_bdr'],
                    dict(kind='uniform', depth=d),
                    f'model = dict(backbone=dict(num_deep={d}))\n'))
    for b in args.budgets:
        out.append((f'zoom-atr-b{b:g}', CFG['atr_bdr'],
                    dict(kind='atr', budget=b),
                    'model = dict(backbone=dict(router=dict('
                    f'budget_target={b!r})))\n'))
    if getattr(args, 'kd_teacher', None):
        out += kd_configs(args)
    configs = []
    for name, base, point, body in out:
        path = osp.join(folder, name + '.py')
        text = (f'# {point}: {base} with one key changed '
                '(zoom_experiments.py family)\n'
                f'_base_ = [{osp.join(REPO, base)!r}]\n' + body)
        atomic_write_text(text, path)
        configs.append((name, path, point))
    return configs


def kd_configs(args) -> List[Tuple[str, str, dict, str]]:
    """The distilled ATR points: ``(name, base, point, config body)``.

    The head of the ATR + BDR config is wrapped (``_delete_``: the wrapper
    replaces it, the student keeps every option); the teacher is the run
    directory's own ``config.py`` (the data already adapted by
    ``robustness.py``) and its last checkpoint."""
    from mmengine.config import Config
    teacher = osp.abspath(args.kd_teacher)
    teacher_cfg = osp.join(teacher, 'config.py')
    ckpt_file = osp.join(teacher, 'last_checkpoint')
    teacher_ckpt = (last_checkpoint(teacher) if osp.isfile(ckpt_file)
                    else None)
    if not (osp.isfile(teacher_cfg) and teacher_ckpt
            and osp.isfile(teacher_ckpt)):
        raise SystemExit(f'--kd-teacher {args.kd_teacher}: not a finished '
                         'robustness.py run (needs config.py and '
                         'last_checkpoint)')
    head = Config.fromfile(osp.join(REPO, CFG['atr_bdr'])).model.head
    out = []
    for b in args.kd_budgets:
        body = ('model = dict(\n'
                f'    backbone=dict(router=dict(budget_target={b!r})),\n'
                "    head=dict(_delete_=True, type='DistillationHead',\n"
                f'              student={head.to_dict()!r}))\n'
                "custom_hooks = [dict(type='DistillationHook',\n"
                f'                     teacher_config={teacher_cfg!r},\n'
                f'                     teacher_checkpoint={teacher_ckpt!r})]'
                '\n')
        out.append((f'zoom-atr-b{b:g}-kd', CFG['atr_bdr'],
                    dict(kind='atr_kd', budget=b, teacher=teacher), body))
    return out


def seed_dirs(root: str, name: str, seeds) -> List[str]:
    return [osp.join(root, name, f'seed{s}') for s in seeds
            if osp.isfile(osp.join(root, name, f'seed{s}', 'metrics.json'))]


def run_cost(run_dir: str, feats, max_videos: Optional[int]) -> Dict:
    """GFLOPs / tau of one trained run on the test videos (cached in
    ``<run_dir>/inference_cost.json``)."""
    cache = osp.join(run_dir, 'inference_cost.json')
    found = read_json(cache)
    if found and found.get('max_videos') == max_videos:
        return found
    from mmtal_zoom.apis import init_localizer
    model = init_localizer(osp.join(run_dir, 'config.py'),
                           last_checkpoint(run_dir))
    cost = measure_inference(model, feats, repeats=0)
    cost['max_videos'] = max_videos
    write_json(cost, cache)
    return cost


def stats(values: List[float]) -> Tuple[float, Optional[float]]:
    return (statistics.mean(values),
            statistics.stdev(values) if len(values) > 1 else None)


def interpolate(curve: List[Dict], gflops: float) -> Optional[float]:
    """The uniform curve's mean test avg mAP at ``gflops`` (None outside)."""
    pts = sorted(curve, key=lambda p: p['gflops'])
    for a, b in zip(pts, pts[1:]):
        if a['gflops'] <= gflops <= b['gflops']:
            w = (gflops - a['gflops']) / max(b['gflops'] - a['gflops'], 1e-12)
            return a['test_avg_mAP'] + w * (b['test_avg_mAP'] -
                                            a['test_avg_mAP'])
    return None


def fmt(m: float, s: Optional[float]) -> str:
    return f'{m:.2f}' if s is None else f'{m:.2f} ± {s:.2f}'


def curve_points(args, configs) -> List[Dict]:
    root = osp.join(args.work_dir, args.preset)
    data = argparse.Namespace(
        data_root=osp.join(args.family_root, args.preset))
    feats = test_videos(data, args.max_videos)
    points = []
    for name, _, point in configs:
        runs = seed_dirs(root, name, args.seeds)
        if not runs:
            continue
        per = []
        for run in runs:
            m = read_json(osp.join(run, 'metrics.json'))
            c = run_cost(run, feats, args.max_videos)
            per.append(dict(
                seed=m['seed'], gflops=c['gflops_per_video'],
                mean_tau=c['mean_tau'], tau_std=c['tau_std'],
                test_avg=100 * m['test']['average_mAP'],
                test_07=100 * m['test']['mAP']['0.7'],
                val_avg=100 * m['val']['average_mAP']))
        p = dict(name=name, **point, seeds=[r['seed'] for r in per],
                 runs=per)
        for key, src in (('gflops', 'gflops'), ('mean_tau', 'mean_tau'),
                         ('tau_std', 'tau_std'), ('test_avg_mAP', 'test_avg'),
                         ('test_mAP@0.7', 'test_07'),
                         ('val_avg_mAP', 'val_avg')):
            p[key], p[key + '_std'] = stats([r[src] for r in per])
        points.append(p)
    uniform = [p for p in points if p['kind'] == 'uniform']
    for p in points:
        if p['kind'] in ('atr', 'atr_kd'):
            ref = interpolate(uniform, p['gflops'])
            p['uniform_at_same_gflops'] = ref
            p['above_uniform_curve'] = (None if ref is None else
                                        p['test_avg_mAP'] - ref)
    return points


def curve_markdown(points: List[Dict]) -> str:
    rows = []
    for p in points:
        kd = ' + distillation' if p['kind'] == 'atr_kd' else ''
        what = (f"uniform depth {p['depth']}" if p['kind'] == 'uniform' else
                f"ATR + BDR{kd}, budget {p['budget']:g}")
        above = p.get('above_uniform_curve')
        rows.append([
            what, len(p['seeds']), f"{p['gflops']:.3f}",
            f"{p['mean_tau']:.3f}" if p['kind'] != 'uniform' else '—',
            f"{p['tau_std']:.3f}" if p['kind'] != 'uniform' else '—',
            fmt(p['test_avg_mAP'], p['test_avg_mAP_std']),
            fmt(p['test_mAP@0.7'], p['test_mAP@0.7_std']),
            fmt(p['val_avg_mAP'], p['val_avg_mAP_std']),
            '—' if p['kind'] == 'uniform' else
            ('outside the curve' if above is None else f'{above:+.2f}')])
    return markdown_table(
        ['model', 'seeds', 'GFLOPs / test video', 'mean tau', 'tau std',
         'test avg mAP', 'test mAP@0.7', 'val avg mAP',
         'vs uniform curve at same GFLOPs'], rows)


def plot_curve(points: List[Dict], path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for kind, label, style in (('uniform', 'uniform depth 1..K', 's-'),
                               ('atr', 'ATR + BDR (budgets)', 'o-'),
                               ('atr_kd', 'ATR + BDR + distillation', '^')):
        pts = sorted((p for p in points if p['kind'] == kind),
                     key=lambda p: p['gflops'])
        if not pts:
            continue
        ax.errorbar([p['gflops'] for p in pts],
                    [p['test_avg_mAP'] for p in pts],
                    yerr=[p['test_avg_mAP_std'] or 0 for p in pts],
                    fmt=style, capsize=3, label=label)
        for p in pts:
            tag = (f"d{p['depth']}" if kind == 'uniform' else
                   f"b{p['budget']:g}" + ('+kd' if kind == 'atr_kd' else ''))
            ax.annotate(tag, (p['gflops'], p['test_avg_mAP']), fontsize=7,
                        xytext=(3, 3), textcoords='offset points')
    ax.set_xlabel('GFLOPs per test video (executed graph, trained weights)')
    ax.set_ylabel('test average mAP [0.3:0.7] (%), mean ± std over seeds')
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=130)


def cmd_family(args) -> List[Dict]:
    configs = curve_configs(args)
    if not args.report_only:
        run_tool(['tools/analysis/robustness.py', '--presets', args.preset,
                  '--models'] + [path for _, path, _ in configs] +
                 ['--seeds'] + [str(s) for s in args.seeds] +
                 ['--data-root', args.family_root, '--work-dir',
                  args.work_dir, '--jobs', str(args.jobs)],
                 osp.join(args.work_dir, f'{args.preset}_family.log'))
    points = curve_points(args, configs)
    if not points:
        raise RuntimeError(f'no finished runs under {args.work_dir}/'
                           f'{args.preset}')
    out = osp.join(args.work_dir, f'{args.preset}_curve')
    write_json(points, out + '.json')
    text = curve_markdown(points)
    atomic_write_text(text + '\n', out + '.md')
    plot_curve(points, out + '.png',
               f'{args.preset}: ATR vs matched uniform depth')
    print(text)
    print(f'wrote {out}.json, .md, .png')
    return points
