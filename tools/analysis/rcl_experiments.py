#!/usr/bin/env python
"""Stock BMN vs BMN + RCL, and RCL's ablations, on the embedded
ActivityNet-format set (RCL paper, Tables 3-6).

Every variant trains with the same data, pipeline, schedule and seeds through
mmengine's Runner (the configs in configs/rcl/), is evaluated once on the
'test' split by MMAction2's ANetMetric (AR@1/5/10/100 at tIoU 0.5:0.05:0.95,
AUC of the AR@AN curve), and additionally by the same AR computation
restricted to short ground-truth instances. FLOPs are counted with
``torch.utils.flop_counter.FlopCounterMode`` on the executed inference graph
(tensor mode: everything up to Soft-NMS) for one video of the same input
size. No checkpoint selection, no tuning on 'test'.

Variants (paper rows in brackets):
  bmn          stock MMAction2 BMN, 100 x 100 boundary-matching map [baseline]
  car_grid     CAR w/o offset, regular grid samples only [Table 5 row 1
               analogue]
  car_uniform  + uniform (random) samples [Table 5 "+uniform sample"]
  car          + scale-invariant samples = CAR w/o offset [Table 4/5]
  car_offset   CAR w/ offset [Table 3 "CAR", Table 4 "CAR w/ offset"]: the
               CPU config as it is
  rcl          CAR w/ offset + recurrent refine module trained (M = 10, as
               the CPU config until 2026-12-07) [Table 3/6 "RRM"]

Example (the command behind docs/rcl.md)::

    python tools/analysis/rcl_experiments.py --make-data \
        --out-dir work_dirs/rcl_experiments --seeds 0 1 2 --jobs 2

Writes ``<out-dir>/rcl_experiments.json`` and ``<out-dir>/rcl_experiments.md``
(atomically), one work dir per run under ``<out-dir>/runs``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import REPO, train_timed  # noqa: E402

from mmtal_zoom.utils import atomic_write_json, atomic_write_text  # noqa
from mmtal_zoom.utils.cli import add_switches  # noqa: E402

RCL_CFG = osp.join(REPO, 'configs', 'rcl',
                   'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py')
BMN_CFG = osp.join(REPO, 'configs', 'rcl',
                   'bmn_synthetic-feat_1xb2-8e_embedded-anet.py')

_NO_REFINE = {'model.rcl_head.refine': None,
              'model.rcl_head.with_offset': False}
VARIANTS = OrderedDict([
    ('bmn', dict(config=BMN_CFG, overrides={},
                 desc='stock BMN (100x100 BM map)')),
    ('car_grid', dict(config=RCL_CFG, overrides={
        **_NO_REFINE, 'model.rcl_head.sampler.use_random': False,
        'model.rcl_head.sampler.use_gt': False},
        desc='CAR w/o offset, grid samples')),
    ('car_uniform', dict(config=RCL_CFG, overrides={
        **_NO_REFINE, 'model.rcl_head.sampler.use_gt': False},
        desc='CAR w/o offset, + uniform samples')),
    ('car', dict(config=RCL_CFG, overrides=dict(_NO_REFINE),
                 desc='CAR w/o offset, + scale-invariant samples')),
    ('car_offset', dict(config=RCL_CFG, overrides={
        'model.rcl_head.refine': None}, desc='CAR w/ offset')),
    # the CPU config reads the CAR at test time and, since 2026-12-07, does
    # not train the RRM either: this row trains it as the config did before
    ('rcl', dict(config=RCL_CFG, overrides={
        'model.rcl_head.refine': dict(_delete_=True,
                                      type='RecurrentRefineModule',
                                      hidden_channels=64, num_iters=10),
        'model.rcl_head.stage_weighting': 'paper',
        'model.rcl_head.train_refine': 'mixed'},
        desc='CAR w/ offset + RRM (full RCL)')),
])
METRIC_KEYS = ('AR@1', 'AR@5', 'AR@10', 'AR@100', 'auc', 'AR@10_short',
               'AR@100_short')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--data-dir', default=osp.join(REPO, 'data',
                                                  'anet_embedded'),
                   help='embedded ActivityNet-format set '
                   '(tools/make_anet_embedded.py)')
    add_switches(p, {
        '--make-data': 'generate --data-dir first when it is absent',
    })
    p.add_argument('--gen-kwargs', default='{}',
                   help='JSON dict for make_anet_embedded (with --make-data)'
                   )
    p.add_argument('--out-dir', default=osp.join(REPO, 'work_dirs',
                                                 'rcl_experiments'))
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=list(VARIANTS))
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=None,
                   help='override max_epochs of the configs (default: '
                   'theirs)')
    p.add_argument('--eval-split', default='test', choices=['test', 'val'],
                   help="split evaluated (use 'val' to choose settings; "
                   "report 'test')")
    p.add_argument('--short-frac', type=float, default=0.05,
                   help='a ground truth is "short" when its length is at '
                   'most this fraction of its video (BMN grid cells: 0.01)')
    p.add_argument('--jobs', type=int, default=1,
                   help='runs in parallel (each with --threads threads)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads per run')
    add_switches(p, {
        '--skip-existing': 'reuse finished runs found in --out-dir',
        '--no-flops': None,
    })
    # internal: one run in a child process
    p.add_argument('--run-one', nargs=2, metavar=('VARIANT', 'SEED'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ----------------------------------------------------------------------
# one run (child process)
# ----------------------------------------------------------------------
def build_cfg(variant, seed, data_dir, work_dir, epochs=None,
              eval_split='test'):
    from mmengine.config import Config
    spec = VARIANTS[variant]
    cfg = Config.fromfile(spec['config'])
    if spec['overrides']:
        cfg.merge_from_dict(copy.deepcopy(spec['overrides']))
    feat_dir = osp.join(data_dir, 'csv_mean_100')
    for split, key in (('train_dataloader', 'train'),
                       ('test_dataloader', eval_split)):
        cfg[split].dataset.ann_file = osp.join(data_dir,
                                               f'anet_anno_{key}.json')
        cfg[split].dataset.data_prefix = dict(video=feat_dir)
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        for sched in cfg.param_scheduler:
            sched['end'] = epochs
            if 'milestones' in sched:
                sched['milestones'] = [min(m, max(epochs - 1, 1))
                                       for m in sched['milestones']]
    # no validation during training: the final model is reported on 'test'
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.train_cfg.pop('val_begin', None)
    cfg.train_cfg.pop('val_interval', None)
    cfg.test_evaluator.dump_config.out = osp.join(work_dir,
                                                  'results_test.json')
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=cfg.train_cfg.max_epochs,
        max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 10
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.experiment_name = f'{variant}_seed{seed}'
    return cfg


def short_recall(gt_file, results_file, short_frac):
    """AR@10 / AR@100 (tIoU 0.5:0.95) over short ground-truth instances only,
    with MMAction2's ``average_recall_at_avg_proposals`` (as ANetMetric)."""
    from mmaction.evaluation import average_recall_at_avg_proposals
    gt_db = json.load(open(gt_file))
    res = json.load(open(results_file))['results']
    ground_truth, proposals, total = {}, {}, 0
    num_short = 0
    for name, info in gt_db.items():
        vid = name[2:]
        dur = float(info['duration_second'])
        short = [[a['segment'][0], a['segment'][1]]
                 for a in info['annotations']
                 if a['segment'][1] - a['segment'][0] <= short_frac * dur]
        if not short:
            continue
        num_short += len(short)
        ground_truth[vid] = np.array(short)
        props = res.get(vid, [])
        proposals[vid] = np.array(
            [[p['segment'][0], p['segment'][1], p['score']] for p in props]
            ).reshape(-1, 3)
        total += len(props)
    if not ground_truth:
        return {'AR@10_short': float('nan'), 'AR@100_short': float('nan'),
                'num_short': 0}
    recall, _, _, _ = average_recall_at_avg_proposals(
        ground_truth, proposals, total, max_avg_proposals=100,
        temporal_iou_thresholds=np.linspace(0.5, 0.95, 10))
    return {'AR@10_short': float(np.mean(recall[:, 9])),
            'AR@100_short': float(np.mean(recall[:, 99])),
            'num_short': num_short}


def run_one(args):
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.runner import Runner

    import mmtal_zoom  # noqa: F401
    variant, seed = args.run_one[0], int(args.run_one[1])
    work_dir = osp.join(args.out_dir, 'runs', f'{variant}_seed{seed}')
    cfg = build_cfg(variant, seed, args.data_dir, work_dir, args.epochs,
                    args.eval_split)
    runner = Runner.from_cfg(cfg)
    train_s, iters = train_timed(runner)
    t0 = time.time()
    metrics = runner.test()
    test_s = time.time() - t0
    out = {k: float(v) for k, v in metrics.items()}
    out.update(short_recall(osp.join(args.data_dir,
                                     f'anet_anno_{args.eval_split}.json'),
                            cfg.test_evaluator.dump_config.out,
                            args.short_frac))
    out.update(variant=variant, seed=seed, train_s=train_s, test_s=test_s,
               train_iters=iters, s_per_iter=train_s / max(iters, 1))
    _atomic_json(osp.join(work_dir, 'metrics.json'), out)


# ----------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------
def _atomic_json(path, obj):
    atomic_write_json(obj, path, indent=1)


def _atomic_text(path, text):
    atomic_write_text(text, path)


def count_flops(variants, threads):
    """GFLOPs (2 x multiply-adds, FlopCounterMode) and parameters of each
    variant's inference graph for one (400, 100) video."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from torch.utils.flop_counter import FlopCounterMode

    import mmtal_zoom  # noqa: F401
    from mmaction.registry import MODELS
    torch.set_num_threads(threads)
    out = {}
    specs = [(v, VARIANTS[v]['config'], VARIANTS[v]['overrides'])
             for v in variants]
    # the real-feature setting of the paper, for reference
    specs.append(('rcl_tsn', osp.join(
        REPO, 'configs', 'rcl', 'bmn-rcl_tsn-feat_2xb8-10e_activitynet.py'),
                  {}))
    specs.append(('bmn_tsn', osp.join(REPO, 'configs', '_base_', 'models',
                                      'bmn_400x100.py'), {}))
    for name, path, overrides in specs:
        cfg = Config.fromfile(path)
        if overrides:
            cfg.merge_from_dict(copy.deepcopy(overrides))
        with DefaultScope.overwrite_default_scope('mmaction'):
            model = MODELS.build(cfg.model).eval()
        x = torch.randn(1, cfg.model.feat_dim, cfg.model.temporal_dim)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model._forward(x)
        t0 = time.time()
        with torch.no_grad():
            model._forward(x)
        out[name] = dict(
            gflops=counter.get_total_flops() / 1e9,
            params_m=sum(p.numel() for p in model.parameters()
                         if p.requires_grad) / 1e6,
            infer_s=time.time() - t0)
        print(f'[flops] {name}: {out[name]["gflops"]:.2f} GFLOPs, '
              f'{out[name]["params_m"]:.2f} M params', flush=True)
    return out


def dataset_summary(data_dir, short_frac):
    summary = {}
    for split in ('train', 'val', 'test'):
        path = osp.join(data_dir, f'anet_anno_{split}.json')
        if not osp.exists(path):
            continue
        db = json.load(open(path))
        rel = [(a['segment'][1] - a['segment'][0]) / v['duration_second']
               for v in db.values() for a in v['annotations']]
        summary[split] = dict(
            videos=len(db), instances=len(rel),
            short_instances=int(sum(r <= short_frac for r in rel)),
            median_rel_length=float(np.median(rel)) if rel else None)
    return summary


def aggregate(runs):
    table = OrderedDict()
    for r in runs:
        table.setdefault(r['variant'], []).append(r)
    agg = OrderedDict()
    for variant, rs in table.items():
        row = dict(seeds=[r['seed'] for r in rs])
        for k in METRIC_KEYS + ('s_per_iter', ):
            vals = np.array([r[k] for r in rs if k in r], dtype=float)
            row[k] = dict(mean=float(vals.mean()) if vals.size else None,
                          # sample std (ddof=1), as in the other
                          # experiment drivers; 0 for a single seed
                          std=float(vals.std(ddof=1)) if vals.size > 1
                          else (0.0 if vals.size else None),
                          values=vals.tolist())
        agg[variant] = row
    return agg


def to_markdown(agg, flops, summary, args, wall_s):
    def fmt(cell, scale=100.0, digits=1):
        if cell['mean'] is None:
            return '-'
        return (f'{cell["mean"] * scale:.{digits}f} ± '
                f'{cell["std"] * scale:.{digits}f}')

    lines = [
        '| variant | AR@1 | AR@5 | AR@10 | AR@100 | AUC | AR@10 short | '
        'AR@100 short | GFLOPs | s/iter |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for variant, row in agg.items():
        fl = flops.get(variant, {}).get('gflops') if flops else None
        lines.append(
            f'| {variant}: {VARIANTS[variant]["desc"]} | {fmt(row["AR@1"])} '
            f'| {fmt(row["AR@5"])} | {fmt(row["AR@10"])} | '
            f'{fmt(row["AR@100"])} | {fmt(row["auc"], 1.0, 2)} | '
            f'{fmt(row["AR@10_short"])} | {fmt(row["AR@100_short"])} | '
            f'{"-" if fl is None else f"{fl:.2f}"} | '
            f'{fmt(row["s_per_iter"], 1.0, 2)} |')
    lines.append('')
    lines.append(f'Split: {args.eval_split}. AR in %, mean ± std over seeds '
                 f'{args.seeds}; AUC of the AR@AN curve (0-100). "short": '
                 f'ground truth of at most {args.short_frac:.0%} of its '
                 'video. GFLOPs: inference graph of one video (400 x 100 '
                 'features), FlopCounterMode.')
    if flops:
        lines.append('')
        lines.append('| model | GFLOPs | params (M) |')
        lines.append('|---|---|---|')
        for k, v in flops.items():
            lines.append(f'| {k} | {v["gflops"]:.2f} | {v["params_m"]:.2f} |')
    lines.append('')
    lines.append('Data: ' + json.dumps(summary))
    lines.append(f'Machine: {platform.processor() or platform.machine()}, '
                 f'{os.cpu_count()} cores, {args.threads} thread(s) per run, '
                 f'{args.jobs} run(s) in parallel; total {wall_s / 60:.1f} '
                 'min.')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    if args.run_one:
        return run_one(args)
    t_start = time.time()
    args.out_dir = osp.abspath(args.out_dir)
    args.data_dir = osp.abspath(args.data_dir)
    if not osp.exists(osp.join(args.data_dir, 'anet_anno_train.json')):
        if not args.make_data:
            raise SystemExit(
                f'{args.data_dir} has no anet_anno_train.json: run '
                'tools/make_anet_embedded.py first or pass --make-data')
        sys.path.insert(0, REPO)
        from mmtal_zoom.datasets.generators.anet_format import \
            make_anet_embedded
        make_anet_embedded(args.data_dir, progress=True,
                           generator_kwargs=json.loads(args.gen_kwargs))
    summary = dataset_summary(args.data_dir, args.short_frac)
    print('[data]', json.dumps(summary), flush=True)

    jobs = [(v, s) for s in args.seeds for v in args.variants]
    pending, running, runs = list(jobs), [], []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    try:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc='runs', unit='run')
    except ImportError:  # pragma: no cover
        bar = None
    while pending or running:
        while pending and len(running) < args.jobs:
            variant, seed = pending.pop(0)
            wd = osp.join(args.out_dir, 'runs', f'{variant}_seed{seed}')
            done = osp.join(wd, 'metrics.json')
            if args.skip_existing and osp.exists(done):
                res = json.load(open(done))
                # the short-instance recall is recomputed from the dumped
                # proposals, so --short-frac can change without retraining
                res.update(short_recall(
                    osp.join(args.data_dir,
                             f'anet_anno_{args.eval_split}.json'),
                    osp.join(wd, 'results_test.json'), args.short_frac))
                runs.append(res)
                if bar:
                    bar.update()
                continue
            os.makedirs(wd, exist_ok=True)
            cmd = [sys.executable, osp.abspath(__file__), '--run-one',
                   variant, str(seed), '--data-dir', args.data_dir,
                   '--out-dir', args.out_dir, '--threads', str(args.threads),
                   '--short-frac', str(args.short_frac),
                   '--eval-split', args.eval_split]
            if args.epochs is not None:
                cmd += ['--epochs', str(args.epochs)]
            log = open(osp.join(wd, 'run.log'), 'w')
            running.append((variant, seed, wd, log,
                            subprocess.Popen(cmd, stdout=log,
                                             stderr=subprocess.STDOUT,
                                             env=env, cwd=REPO)))
        time.sleep(2)
        for item in list(running):
            variant, seed, wd, log, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()
            if proc.returncode != 0:
                raise SystemExit(f'run {variant} seed {seed} failed '
                                 f'(exit {proc.returncode}); see '
                                 f'{osp.join(wd, "run.log")}')
            res = json.load(open(osp.join(wd, 'metrics.json')))
            runs.append(res)
            print(f'[run] {variant} seed {seed}: AR@100 '
                  f'{res["AR@100"]:.4f} AUC {res["auc"]:.2f} AR@100_short '
                  f'{res["AR@100_short"]:.4f} ({res["train_s"]:.0f} s train)',
                  flush=True)
            if bar:
                bar.update()
    if bar:
        bar.close()
    flops = None if args.no_flops else count_flops(args.variants,
                                                   args.threads)
    runs.sort(key=lambda r: (list(VARIANTS).index(r['variant']), r['seed']))
    agg = aggregate(runs)
    wall = time.time() - t_start
    report = dict(
        command='python tools/analysis/rcl_experiments.py ' +
        ' '.join(sys.argv[1:] if argv is None else argv),
        data=summary, data_dir=args.data_dir, seeds=args.seeds,
        eval_split=args.eval_split,
        short_frac=args.short_frac, machine=dict(
            processor=platform.processor() or platform.machine(),
            cpu_count=os.cpu_count(), threads=args.threads, jobs=args.jobs),
        wall_s=wall, runs=runs, aggregate=agg, flops=flops)
    _atomic_json(osp.join(args.out_dir, 'rcl_experiments.json'), report)
    md = to_markdown(agg, flops, summary, args, wall)
    _atomic_text(osp.join(args.out_dir, 'rcl_experiments.md'), md)
    print(md)


if __name__ == '__main__':
    main()
