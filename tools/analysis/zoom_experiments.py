"""The measurements of docs/zoom.md (Temporal Zoom Networks).

Sub-commands (JSON under ``--work-dir``; training runs are resumable: a run
whose ``metrics.json`` exists is not repeated):

* ``bench``: ``tools/benchmark.py`` on the uniform-depth network, ATR alone
  and ATR + BDR at every ``--seq-lens`` T (random weights: the router spends
  exactly its budget on every token), inference (tensor mode): GFLOPs on the
  executed graph, CPU latency (median; ratios come from one run), peak
  memory.
* ``compare``: the embedded benchmark — uniform depth, ATR, ATR + BDR, the
  #2 baseline and baseline + BDR, ``--seeds`` each, one schedule for all;
  train on ``train``, evaluate the final weights (raw, not EMA:
  ``Runner.val()`` re-runs ``EMAHook.before_run``, which re-seeds the
  average) on ``val`` and ``test``: no checkpoint or setting is chosen on
  ``test``.
* ``budgets``: ATR + BDR trained at other budgets (``--budgets``) for the
  mAP-vs-GFLOPs Pareto plot.
* ``kd``: ATR + BDR distilled from the uniform-depth model of ``compare``
  (its seed-0 checkpoint), same schedule; ``--kd-terms`` picks the KD terms
  (both, classification only, regression only: one run each).
* ``cost``: measured on trained weights and real (test) videos — GFLOPs and
  CPU latency of uniform vs ATR models, with the mean depth actually used;
  and the training cost per step (forward + backward, random weights, T =
  the training crop, batch 4): uniform, ATR, ATR + BDR and ATR + BDR with
  distillation (teacher forward included), interleaved rounds, median.
* ``pareto``: the PNG (test mAP vs inference GFLOPs per video).
* ``report``: Markdown tables of everything measured so far.
* ``adaptivity``: one trained ATR checkpoint + its config on the
  test split — the std of tau over tokens, the AUROC of tau for tokens within
  ``--boundary-radius`` (2) snippets of a ground-truth start / end against
  the rest, the mean tau in boundary / action / background zones, a PNG of
  tau over time against the ground truth for ``--plot-videos`` videos, test
  mAP with BDR snapping on and off (when the head has the switch), and
  inference GFLOPs / CPU latency of these trained weights against a
  uniform-depth control side by side in one run (interleaved rounds,
  median; ratios), on the test videos at their own lengths and at
  ``--latency-seq-len`` (test features concatenated to that length). Writes
  ``adaptivity.json``, ``adaptivity.md`` and ``tau_timeline.png`` under
  ``--out``.

The schedule of the embedded runs is shorter than the configs' (12 epochs,
768-snippet crops): ``--max-epochs`` (default 6, 1 warm-up epoch + cosine)
and ``--crop`` (default 384 snippets) apply to every model alike, to fit
the 2-core CPU budget. Example (the commands behind docs/zoom.md)::

    python tools/analysis/zoom_experiments.py bench
    python tools/analysis/zoom_experiments.py compare --seeds 0 1 2 --jobs 2
    python tools/analysis/zoom_experiments.py budgets --budgets 0.1 0.5
    python tools/analysis/zoom_experiments.py kd --seeds 0 \\
        --kd-terms cls_reg cls reg
    python tools/analysis/zoom_experiments.py cost
    python tools/analysis/zoom_experiments.py pareto
    python tools/analysis/zoom_experiments.py report \\
        > work_dirs/zoom_exp/report.md
    python tools/analysis/zoom_experiments.py adaptivity \\
        --config configs/zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_\\
embedded.py --checkpoint work_dirs/zoom_exp/runs/atr_bdr_seed0/epoch_6.pth \\
        --uniform-config configs/zoom/temporal-zoom-uniform-bdr_synthetic-\\
feat_1xb2-30e_embedded.py \\
        --out work_dirs/zoom_exp/adaptivity/atr_bdr_seed0
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = {
    'uniform':
    'configs/zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py',
    'atr':
    'configs/zoom/temporal-zoom-atr-nobdr_synthetic-feat_1xb2-30e_embedded.py',
    'atr_bdr':
    'configs/zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
    'baseline':
    'configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
    'baseline_bdr':
    'configs/zoom/actionformer-bdr_synthetic-feat_1xb2-30e_embedded.py',
    # matched uniform controls: equal parameters / equal FLOPs
    'uniform_bdr': 'configs/zoom/'
    'temporal-zoom-uniform-bdr_synthetic-feat_1xb2-30e_embedded.py',
    'uniform_d1': 'configs/zoom/'
    'temporal-zoom-uniform-d1_synthetic-feat_1xb2-30e_embedded.py',
    'uniform_d1_bdr': 'configs/zoom/'
    'temporal-zoom-uniform-d1-bdr_synthetic-feat_1xb2-30e_embedded.py',
}
# what ``compare`` trains unless --models says otherwise
COMPARE_DEFAULT = ['uniform', 'atr', 'atr_bdr', 'baseline', 'baseline_bdr']
TIOUS = ('0.3', '0.4', '0.5', '0.6', '0.7')
# kd variants: run-name suffix and DistillationHead options
KD_TERMS = {
    'cls_reg': ('', dict(reg_index=1)),
    'cls': ('_cls', dict(reg_index=None)),
    'reg': ('_reg', dict(reg_index=1, cls_weight=0.0)),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Re-run the Temporal Zoom (ATR + BDR) measurements of '
        'docs/zoom.md on the embedded benchmark.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    p.add_argument('command', choices=['bench', 'compare', 'budgets', 'kd',
                                       'cost', 'pareto', 'report',
                                       'adaptivity', '_run'])
    p.add_argument('--work-dir', default='work_dirs/zoom_exp')
    p.add_argument('--data-root', default='data/embedded')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--models', nargs='+', default=COMPARE_DEFAULT,
                   choices=list(CFG), help='compare: which models')
    p.add_argument('--budgets', type=float, nargs='+', default=[0.1, 0.5],
                   help='budgets: extra ATR budgets (0.25 is compare\'s)')
    p.add_argument('--seq-lens', type=int, nargs='+',
                   default=[512, 2304, 8192], help='bench: T')
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads per process')
    p.add_argument('--jobs', type=int, default=1,
                   help='training runs in parallel')
    p.add_argument('--max-epochs', type=int, default=6)
    p.add_argument('--crop', type=int, default=384,
                   help='training crop (max_seq_len) in snippets')
    p.add_argument('--tiny', action='store_true',
                   help='shrink every model to 32-d, 4 pyramid levels, '
                   'window 5 (the learning smoke test\'s sizes; input '
                   'width from the data): minute-long CPU runs on the tiny '
                   'preset, for checks, not for the benchmark tables')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   default=None, help='compare / adaptivity: override '
                   'config keys of every model (mmengine syntax, e.g. '
                   'model.backbone.relaxation=clamp)')
    p.add_argument('--tag', default='',
                   help='compare: suffix of the run names (ablations '
                   'with --cfg-options)')
    p.add_argument('--kd-terms', nargs='+',
                   default=['cls_reg', 'cls', 'reg'],
                   choices=list(KD_TERMS),
                   help='kd: which distillation terms, one run each '
                   '(cls_reg: loss_kd_cls + loss_kd_reg -> atr_bdr_kd; '
                   'cls: loss_kd_cls only -> atr_bdr_kd_cls; reg: '
                   'loss_kd_reg only -> atr_bdr_kd_reg)')
    # adaptivity
    p.add_argument('--config', help='adaptivity: the ATR config')
    p.add_argument('--checkpoint', help='adaptivity: its trained weights')
    p.add_argument('--uniform-config', default=None,
                   help='adaptivity: the uniform-depth control for latency '
                   '(default: temporal-zoom-uniform-bdr_... if the ATR head '
                   'is a BDRRefinedHead, else temporal-zoom-uniform_...)')
    p.add_argument('--uniform-checkpoint', default=None,
                   help='adaptivity: the control\'s weights (default: '
                   'random; a uniform-depth network\'s tensor-mode cost '
                   'does not depend on its weights)')
    p.add_argument('--out', default='work_dirs/zoom_exp/adaptivity',
                   help='adaptivity: output folder')
    p.add_argument('--boundary-radius', type=float, default=2.0,
                   help='adaptivity: boundary zone, snippets either side')
    p.add_argument('--plot-videos', type=int, default=4)
    p.add_argument('--latency-seq-len', type=int, default=2304)
    p.add_argument('--max-videos', type=int, default=None,
                   help='adaptivity: only the first N test videos')
    # internal: one training run
    p.add_argument('--seed', type=int, help=argparse.SUPPRESS)
    p.add_argument('--run-dir', help=argparse.SUPPRESS)
    p.add_argument('--budget', type=float, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument('--teacher', default=None, help=argparse.SUPPRESS)
    p.add_argument('--teacher-config', default=None, help=argparse.SUPPRESS)
    p.add_argument('--kd-term', default='cls_reg', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def write_json(obj, path):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def read_json(path, default=None):
    if not osp.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


def num_classes_of(data_root: str) -> int:
    with open(osp.join(data_root, 'annotations.json')) as f:
        db = json.load(f)['database']
    return len({a['label'] for v in db.values()
                for a in v.get('annotations', [])})


def detection_heads(head_cfg):
    """The head configs that own ``num_classes`` (through wrappers)."""
    out = []
    if 'base_head' in head_cfg:
        out += detection_heads(head_cfg['base_head'])
    elif 'student' in head_cfg:
        out += detection_heads(head_cfg['student'])
    else:
        out.append(head_cfg)
    return out


def load_config(config: str, args, budget: Optional[float] = None):
    """The config with the experiment's data, classes and schedule."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    for head in detection_heads(cfg.model.head):
        head['num_classes'] = num_classes_of(args.data_root)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.ann_file = osp.join(args.data_root,
                                               'annotations.json')
        cfg[split].dataset.data_prefix = dict(
            feature=osp.join(args.data_root, 'features'))
    # the short schedule, identical for every model
    epochs = args.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_begin = epochs + 1  # final weights only
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True)]
    if epochs > 1:
        cfg.param_scheduler.append(
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                 end=epochs, T_max=epochs - 1, eta_min=1e-6,
                 convert_to_iter_based=True))
    cfg.model.data_preprocessor.max_seq_len = args.crop
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'RandomTruncateTAL':
            t['max_seq_len'] = args.crop
    if budget is not None:
        cfg.model.backbone.router.budget_target = budget
    if getattr(args, 'tiny', False):
        shrink_tiny(cfg, args.data_root)
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def feature_dim_of(data_root: str) -> int:
    import numpy as np
    folder = osp.join(data_root, 'features')
    first = sorted(os.listdir(folder))[0]
    return int(np.load(osp.join(folder, first), mmap_mode='r').shape[1])


def shrink_tiny(cfg, data_root: str, dims: int = 32) -> None:
    """``--tiny``: the sizes of tests/test_learning_smoke.py (``dims``-d,
    4 levels, window 5), input width from the data."""
    m = cfg.model
    m.data_preprocessor.pad_size_divisor = 8
    m.backbone.update(in_channels=feature_dim_of(data_root),
                      embed_dims=dims, window_size=5)
    m.neck.update(in_channels=dims, num_levels=4, window_size=5)
    for head in detection_heads(m.head):
        head.update(in_channels=dims, feat_channels=dims)
        head.prior_generator.update(
            strides=[1, 2, 4, 8],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)])
    if 'bdr' in m.head:
        m.head.bdr.update(in_channels=dims, feat_channels=dims)


# ----------------------------------------------------------------------
# training runs
# ----------------------------------------------------------------------
def cmd_run(args):
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.runner import Runner

    import mmtal_zoom  # noqa: F401

    cfg = load_config(args.config, args, args.budget)
    cfg.work_dir = args.run_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    if args.teacher:
        teacher_cfg = load_config(args.teacher_config, args).model
        cfg.model.head = dict(type='DistillationHead',
                              student=cfg.model.head, temperature=1.0,
                              **KD_TERMS[args.kd_term][1])
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='DistillationHook', teacher_config=teacher_cfg,
                 teacher_checkpoint=args.teacher)]
    runner = Runner.from_cfg(cfg)
    t0 = time.time()
    runner.train()
    train_s = time.time() - t0
    iters = runner.iter
    val = runner.val()
    test = runner.test()
    write_json(dict(config=args.config, seed=args.seed, budget=args.budget,
                    teacher=args.teacher, kd_term=args.kd_term if
                    args.teacher else None, train_s=train_s, iters=iters,
                    s_per_iter=train_s / max(iters, 1), val=val, test=test,
                    max_epochs=args.max_epochs, crop=args.crop),
               osp.join(args.run_dir, 'metrics.json'))


def run_training(args, name: str, config: str, seed: int,
                 budget: Optional[float] = None,
                 teacher: Optional[str] = None,
                 kd_term: str = 'cls_reg') -> Dict:
    run_dir = osp.join(args.work_dir, 'runs', f'{name}_seed{seed}')
    out = osp.join(run_dir, 'metrics.json')
    if not osp.isfile(out):
        if not osp.isfile(osp.join(args.data_root, 'annotations.json')):
            raise FileNotFoundError(
                f'{args.data_root}/annotations.json is missing: generate the '
                'embedded dataset first (python tools/make_synthetic_'
                f'dataset.py --out {args.data_root}).')
        cmd = [sys.executable, osp.abspath(__file__), '_run', '--config',
               config, '--seed', str(seed), '--run-dir', run_dir,
               '--data-root', args.data_root, '--work-dir', args.work_dir,
               '--max-epochs', str(args.max_epochs), '--crop',
               str(args.crop), '--threads', str(args.threads)]
        if budget is not None:
            cmd += ['--budget', str(budget)]
        if args.tiny:
            cmd += ['--tiny']
        if args.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in
                                        args.cfg_options.items()]
        if teacher:
            cmd += ['--teacher', teacher, '--teacher-config', CFG['uniform'],
                    '--kd-term', kd_term]
        print(f'[{time.strftime("%H:%M:%S")}] training {name} seed {seed}',
              flush=True)
        os.makedirs(run_dir, exist_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        with open(osp.join(run_dir, 'stdout.log'), 'w') as log:
            subprocess.run(cmd, check=True, stdout=log,
                           stderr=subprocess.STDOUT, env=env, cwd=REPO)
        print(f'[{time.strftime("%H:%M:%S")}] done {name} seed {seed}',
              flush=True)
    return read_json(out)


def run_all(args, jobs: List[tuple]) -> List[Dict]:
    with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = [pool.submit(run_training, args, *job) for job in jobs]
        return [f.result() for f in futures]


def cmd_compare(args):
    jobs = [(name + args.tag, CFG[name], seed) for seed in args.seeds
            for name in args.models]
    run_all(args, jobs)


def cmd_budgets(args):
    run_all(args, [(f'atr_bdr_b{b:g}', CFG['atr_bdr'], 0, b)
                   for b in args.budgets])


def cmd_kd(args):
    teacher = osp.join(args.work_dir, 'runs', 'uniform_seed0',
                       'epoch_%d.pth' % args.max_epochs)
    if not osp.isfile(teacher):
        raise FileNotFoundError(f'{teacher} is missing: run "compare" with '
                                'seed 0 and the uniform model first.')
    run_all(args, [('atr_bdr_kd' + KD_TERMS[t][0], CFG['atr_bdr'], seed,
                    None, teacher, t)
                   for seed in args.seeds for t in args.kd_terms])


# ----------------------------------------------------------------------
# benchmarks
# ----------------------------------------------------------------------
def load_benchmark_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mmtal_benchmark_tool', osp.join(REPO, 'tools', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmd_bench(args):
    tool = load_benchmark_tool()
    configs = [osp.join(REPO, CFG[k]) for k in ('uniform', 'atr', 'atr_bdr')]
    rows = []
    for t in args.seq_lens:
        out = tool.main(configs + ['--seq-len', str(t), '--repeats',
                                   str(args.repeats), '--warmup', '2',
                                   '--threads', str(args.threads)])
        rows.append(dict(seq_len=t, rows=out))
        write_json(dict(threads=args.threads, results=rows),
                   osp.join(args.work_dir, 'bench.json'))


def config_of_run(name: str) -> str:
    """Config of a run name (``atr_bdr_b0.1`` and ``atr_bdr_kd`` are
    ATR + BDR runs)."""
    if name in CFG:
        return CFG[name]
    if name.startswith('atr_bdr_'):
        return CFG['atr_bdr']
    raise KeyError(f'unknown run name {name!r}')


def build_trained(name: str, args, ckpt: str):
    import torch

    from mmaction.registry import MODELS
    run = read_json(osp.join(osp.dirname(ckpt), 'metrics.json'), {})
    cfg = load_config(config_of_run(name), args, run.get('budget'))
    if run.get('teacher'):  # trained with a DistillationHead wrapper
        cfg.model.head = dict(type='DistillationHead', student=cfg.model.head)
    model = MODELS.build(cfg.model)
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    model.load_state_dict(state['state_dict'])
    return model.eval()


def test_videos(args, limit: Optional[int] = None):
    """Features ``(1, C, T)`` of the test videos (real lengths)."""
    import numpy as np
    import torch
    with open(osp.join(args.data_root, 'annotations.json')) as f:
        db = json.load(f)['database']
    names = sorted(k for k, v in db.items() if v['subset'] == 'test')
    feats = []
    for n in names[:limit]:
        arr = np.load(osp.join(args.data_root, 'features', n + '.npy'))
        feats.append(torch.from_numpy(arr.T.copy()).float()[None])
    return feats


def measure_inference(model, feats, repeats: int = 3) -> Dict:
    """Mean GFLOPs per video (executed graph), total median latency, mean
    depth used, on real videos."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    flops, taus, lat, tokens = 0.0, [], [], []
    with torch.inference_mode():
        for x in feats:
            mask = torch.ones(1, x.shape[-1], dtype=torch.bool)
            with FlopCounterMode(display=False) as c:
                model(x, mode='tensor', masks=mask)
            flops += c.get_total_flops()
            tau = getattr(model.backbone, 'last_tau', None)
            taus.append(float(tau.mean()) if tau is not None else 1.0)
            if tau is not None:
                tokens.append(tau.flatten())
        for _ in range(repeats):
            t0 = time.perf_counter()
            for x in feats:
                model(x, mode='tensor',
                      masks=torch.ones(1, x.shape[-1], dtype=torch.bool))
            lat.append((time.perf_counter() - t0) * 1000 / len(feats))
    return dict(gflops_per_video=flops / len(feats) / 1e9,
                mean_tau=statistics.mean(taus),
                # spread of the depth over all test tokens: 0 means the
                # router gives every token the same depth (not adaptive)
                tau_std=float(torch.cat(tokens).std()) if tokens else 0.0,
                latency_ms_per_video=statistics.median(lat))


def train_step_cost(args) -> Dict:
    """Per-step training time and FLOPs: uniform, ATR, ATR + BDR, ATR + BDR
    + distillation (teacher forward included). Interleaved rounds, median."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mmaction.registry import MODELS
    bench = load_benchmark_tool()
    torch.manual_seed(0)
    names = ('uniform', 'atr', 'atr_bdr')
    models = {n: MODELS.build(load_config(CFG[n], args).model).train()
              for n in names}
    kd_cfg = load_config(CFG['atr_bdr'], args).model
    kd_cfg.head = dict(type='DistillationHead', student=kd_cfg.head)
    models['atr_bdr_kd'] = MODELS.build(kd_cfg).train()
    teacher = MODELS.build(load_config(CFG['uniform'], args).model).eval()
    gen = torch.Generator().manual_seed(0)
    b, t = 4, args.crop
    k = num_classes_of(args.data_root)
    x = torch.randn(b, 256, t, generator=gen)
    mask = torch.ones(b, t, dtype=torch.bool)
    samples = bench.random_data_samples(b, t, k, gen)

    def step(name):
        model = models[name]
        model.zero_grad(set_to_none=True)
        if name == 'atr_bdr_kd':
            with torch.no_grad():
                outs = teacher(x, mode='tensor', masks=mask)
            for i, s in enumerate(samples):
                s.kd_teacher_outs = tuple([lv[i] for lv in o] for o in outs)
        losses = model(x, samples, mode='loss', masks=mask)
        sum(losses.values()).backward()
        for s in samples:
            if 'kd_teacher_outs' in s:
                del s.kd_teacher_outs

    times = {n: [] for n in models}
    flops = {}
    for n in models:
        step(n)  # warm-up
        with FlopCounterMode(display=False) as c:
            step(n)
        flops[n] = c.get_total_flops() / 1e9
    for _ in range(args.repeats):
        for n in models:
            t0 = time.perf_counter()
            step(n)
            times[n].append((time.perf_counter() - t0) * 1000)
    rows = {n: dict(step_ms=statistics.median(times[n]), gflops=flops[n],
                    mean_tau=float(getattr(models[n].backbone, 'last_tau',
                                           torch.ones(1)).mean()
                                   if models[n].backbone.with_router
                                   else 1.0))
            for n in models}
    for n in rows:
        rows[n]['time_ratio'] = rows[n]['step_ms'] / rows['uniform'][
            'step_ms']
        rows[n]['flops_ratio'] = rows[n]['gflops'] / rows['uniform']['gflops']
    return dict(batch=b, seq_len=t, repeats=args.repeats, rows=rows)


def cmd_cost(args):
    import torch
    torch.set_num_threads(args.threads)
    import mmtal_zoom  # noqa: F401
    result = read_json(osp.join(args.work_dir, 'cost.json'), {})
    result['train_step'] = train_step_cost(args)
    write_json(result, osp.join(args.work_dir, 'cost.json'))
    feats = test_videos(args)
    inf = {}
    for run in sorted(os.listdir(osp.join(args.work_dir, 'runs'))):
        name, _, seed = run.rpartition('_seed')
        ckpt = osp.join(args.work_dir, 'runs', run,
                        'epoch_%d.pth' % args.max_epochs)
        if not osp.isfile(ckpt) or seed != '0':
            continue
        model = build_trained(name, args, ckpt)
        inf[name] = measure_inference(model, feats, repeats=2)
        print(name, inf[name], flush=True)
    result['inference_test_videos'] = inf
    write_json(result, osp.join(args.work_dir, 'cost.json'))


# ----------------------------------------------------------------------
# adaptivity: does the trained router vary depth, and where?
# ----------------------------------------------------------------------
def auroc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (1 = positive):
    the probability that a random positive scores above a random negative,
    ties counted half (Mann-Whitney U with average ranks). NaN if a class
    is absent."""
    import numpy as np
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(bool).ravel()
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    order = np.argsort(scores, kind='mergesort')
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average rank (1-based) of every run of equal scores
    _, first, counts = np.unique(sorted_scores, return_index=True,
                                 return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def token_zones(length: int, segments, radius: float):
    """Zone of every token ``0..length-1`` of one video: 2 = boundary
    (within ``radius`` grid units of a start or end), 1 = action (inside a
    segment, not boundary), 0 = background. ``segments`` ``(N, 2)`` grid
    units."""
    import numpy as np
    t = np.arange(length, dtype=np.float64)
    segs = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    zone = np.zeros(length, dtype=np.int64)
    if len(segs):
        inside = ((t[:, None] >= segs[None, :, 0]) &
                  (t[:, None] <= segs[None, :, 1])).any(1)
        near = (np.abs(t[:, None] - segs.reshape(1, -1)) <= radius).any(1)
        zone[inside] = 1
        zone[near] = 2
    return zone


def build_model(config: str, ckpt: Optional[str], args):
    """The config's model (test data / classes of ``--data-root``) with the
    checkpoint's weights (random weights without one), in eval mode."""
    import torch

    from mmaction.registry import MODELS
    cfg = load_config(config, args)
    model = MODELS.build(cfg.model)
    if ckpt:
        state = torch.load(ckpt, map_location='cpu', weights_only=True)
        model.load_state_dict(state.get('state_dict', state))
    return cfg, model.eval()


def test_items(cfg, limit: Optional[int] = None) -> List[Dict]:
    """The packed test items (``inputs (C, T)``, ``data_samples``) of the
    config's test split, whole videos."""
    from mmaction.registry import DATASETS
    ds_cfg = cfg.test_dataloader.dataset.copy()
    dataset = DATASETS.build(ds_cfg)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return [dataset[i] for i in range(n)]


def collect_tau(model, items, num_classes: int) -> Dict:
    """One predict pass per test video: tau per valid token, the grid-unit
    ground truth, and the predictions for mAP."""
    import numpy as np
    import torch

    from mmtal_zoom.evaluation.functional import evaluate_detection
    videos, gt, preds = [], {}, {}
    with torch.inference_mode():
        for item in items:
            data = model.data_preprocessor(
                dict(inputs=[item['inputs']],
                     data_samples=[item['data_samples']]), False)
            out = model(**data, mode='predict')[0]
            length = int(item['inputs'].shape[-1])
            tau = model.backbone.last_tau
            tau = (tau[0, :length].cpu().numpy() if tau is not None else
                   np.ones(length))
            name = out.metainfo['video_name']
            videos.append(dict(
                name=name, tau=tau,
                segments=out.gt_instances.segments.cpu().numpy()))
            gt[name] = dict(segments=out.metainfo['eval_gt_segments'],
                            labels=out.metainfo['eval_gt_labels'])
            p = out.pred_instances
            preds[name] = dict(segments=p.segments.cpu().numpy(),
                               scores=p.scores.cpu().numpy(),
                               labels=p.labels.cpu().numpy())
    res = evaluate_detection(gt, preds, num_classes)
    tious = [float(t) for t in res['tiou_thresholds']]
    maps = dict(average_mAP=100 * float(res['average_mAP']))
    for t, m in zip(tious, res['mAP']):
        maps[f'mAP@{t:g}'] = 100 * float(m)
    return dict(videos=videos, map=maps)


def tau_statistics(videos: List[Dict], radius: float) -> Dict:
    """std of tau over all tokens, mean per-video std, boundary AUROC and
    the mean tau per zone."""
    import numpy as np
    taus = np.concatenate([v['tau'] for v in videos])
    zones = np.concatenate([token_zones(len(v['tau']), v['segments'], radius)
                            for v in videos])
    out = dict(num_videos=len(videos), num_tokens=int(len(taus)),
               mean_tau=float(taus.mean()), tau_std=float(taus.std()),
               tau_std_per_video=float(np.mean(
                   [v['tau'].std() for v in videos])),
               boundary_auroc=auroc(taus, zones == 2),
               boundary_radius=radius)
    for z, name in enumerate(('background', 'action', 'boundary')):
        sel = zones == z
        out[f'mean_tau_{name}'] = float(taus[sel].mean()) if sel.any() \
            else float('nan')
        out[f'num_tokens_{name}'] = int(sel.sum())
    return out


def plot_tau_timelines(videos: List[Dict], path: str, radius: float,
                       num: int) -> str:
    """tau over time (grid units) against the ground truth, one panel per
    video: actions shaded, boundary zones hatched."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    videos = videos[:max(num, 1)]
    fig, axes = plt.subplots(len(videos), 1, figsize=(9, 1.9 * len(videos)),
                             squeeze=False)
    for ax, v in zip(axes[:, 0], videos):
        for s, e in v['segments']:
            ax.axvspan(s, e, color='tab:green', alpha=0.18, lw=0)
            for b in (s, e):
                ax.axvspan(b - radius, b + radius, color='tab:red',
                           alpha=0.15, lw=0)
        ax.plot(range(len(v['tau'])), v['tau'], color='tab:blue', lw=1.0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, max(len(v['tau']) - 1, 1))
        ax.set_ylabel('tau')
        ax.set_title(f"{v['name']} (std {v['tau'].std():.3f})", fontsize=8)
    axes[-1, 0].set_xlabel('snippet (grid units); green: ground-truth '
                           f'actions, red: boundary zones (±{radius:g})')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def padded_input(model, x):
    """``(C, T)`` -> the model's padded ``(1, C, T')`` input and mask."""
    data = model.data_preprocessor(dict(inputs=[x]), False)
    return data['inputs'], data['masks']


def latency_side_by_side(models: Dict, feats: List, repeats: int) -> Dict:
    """GFLOPs and median CPU latency (ms per video, tensor mode) of each
    model on the same inputs, rounds interleaved; ratios to the first."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    names = list(models)
    inputs = {n: [padded_input(m, x) for x in feats]
              for n, m in models.items()}
    flops, taus, times = {}, {}, {n: [] for n in names}
    with torch.inference_mode():
        for n, m in models.items():
            with FlopCounterMode(display=False) as c:
                used = []
                for x, mask in inputs[n]:
                    m(x, mode='tensor', masks=mask)
                    tau = getattr(m.backbone, 'last_tau', None)
                    used.append(float(tau[mask].mean()) if tau is not None
                                else 1.0)
            flops[n] = c.get_total_flops() / 1e9 / len(feats)
            taus[n] = statistics.mean(used)
        for _ in range(max(repeats, 1)):
            for n, m in models.items():
                t0 = time.perf_counter()
                for x, mask in inputs[n]:
                    m(x, mode='tensor', masks=mask)
                times[n].append((time.perf_counter() - t0) * 1000 /
                                len(feats))
    ref = names[0]
    rows = {}
    for n in names:
        lat = statistics.median(times[n])
        rows[n] = dict(gflops=flops[n], latency_ms=lat, mean_tau=taus[n])
    for n in names:
        rows[n]['flops_ratio'] = rows[n]['gflops'] / rows[ref]['gflops']
        rows[n]['latency_ratio'] = rows[n]['latency_ms'] / \
            rows[ref]['latency_ms']
    return rows


def concat_to_length(feats: List, length: int):
    """The test features concatenated (and repeated) to ``(C, length)``."""
    import torch
    cat = torch.cat(feats, dim=-1)
    reps = -(-length // cat.shape[-1])
    return cat.repeat(1, reps)[:, :length].contiguous()


def adaptivity_markdown(res: Dict) -> str:
    st = res['tau']
    lines = [f"### Router adaptivity: `{res['config']}`", '',
             f"checkpoint `{res['checkpoint']}`, test split, "
             f"{st['num_videos']} videos, {st['num_tokens']} tokens", '',
             '| tau std (tokens) | mean per-video std | boundary AUROC '
             f"(±{st['boundary_radius']:g}) | mean tau | boundary | action "
             '| background |', '|---|---|---|---|---|---|---|',
             f"| {st['tau_std']:.4f} | {st['tau_std_per_video']:.4f} | "
             f"{st['boundary_auroc']:.3f} | {st['mean_tau']:.3f} | "
             f"{st['mean_tau_boundary']:.3f} | {st['mean_tau_action']:.3f} | "
             f"{st['mean_tau_background']:.3f} |", '']
    lines += ['| BDR snapping | avg mAP | mAP@0.5 | mAP@0.7 |',
              '|---|---|---|---|']
    for k, m in res['map'].items():
        lines.append(f"| {k} | {m['average_mAP']:.2f} | "
                     f"{m.get('mAP@0.5', float('nan')):.2f} | "
                     f"{m.get('mAP@0.7', float('nan')):.2f} |")
    for key, title in (('latency_test_videos', 'test videos, own lengths'),
                       ('latency_fixed_length',
                        f"T = {res['latency_seq_len']}")):
        lines += ['', f'Inference, trained weights, {title} '
                  f"(median of {res['repeats']}, threads {res['threads']}):",
                  '', '| model | mean tau | GFLOPs | ms | FLOPs ratio | '
                  'latency ratio |', '|---|---|---|---|---|---|']
        for n, r in res[key].items():
            lines.append(f"| {n} | {r['mean_tau']:.3f} | {r['gflops']:.3f} "
                         f"| {r['latency_ms']:.1f} | {r['flops_ratio']:.3f} "
                         f"| {r['latency_ratio']:.3f} |")
    weights = res['uniform_checkpoint'] or (
        'random (its tensor-mode cost does not depend on them)')
    lines += ['', f"Uniform control: `{res['uniform_config']}`, weights "
              f'{weights}; ATR: the checkpoint above. Peak memory: not '
              'measured here (`bench`).', '', f"Plot: `{res['plot']}`"]
    return '\n'.join(lines)


def cmd_adaptivity(args) -> Dict:
    import torch
    torch.set_num_threads(args.threads)
    import mmtal_zoom  # noqa: F401
    if not args.config:
        raise ValueError('adaptivity needs --config (and --checkpoint).')
    cfg, model = build_model(args.config, args.checkpoint, args)
    if not getattr(model.backbone, 'with_router', False):
        raise ValueError(f'{args.config}: the backbone has no ATR router.')
    head = model.head
    uniform_cfg = args.uniform_config or (
        CFG['uniform_bdr'] if hasattr(head, 'snap') else CFG['uniform'])
    _, uniform = build_model(uniform_cfg, args.uniform_checkpoint, args)
    items = test_items(cfg, args.max_videos)
    k = num_classes_of(args.data_root)
    maps = {}
    if hasattr(head, 'snap'):
        snap = head.snap
        head.snap = False
        maps['off'] = collect_tau(model, items, k)['map']
        head.snap = True
        run = collect_tau(model, items, k)
        maps['on'] = run['map']
        head.snap = snap
    else:
        run = collect_tau(model, items, k)
        maps['n/a (no BDR head)'] = run['map']
    videos = run['videos']
    os.makedirs(args.out, exist_ok=True)
    plot = plot_tau_timelines(videos, osp.join(args.out, 'tau_timeline.png'),
                              args.boundary_radius, args.plot_videos)
    feats = [it['inputs'] for it in items]
    models = {'uniform': uniform, 'atr': model}
    res = dict(config=args.config, checkpoint=args.checkpoint,
               uniform_config=uniform_cfg,
               uniform_checkpoint=args.uniform_checkpoint,
               tau=tau_statistics(videos, args.boundary_radius), map=maps,
               plot=plot, repeats=args.repeats, threads=args.threads,
               latency_seq_len=args.latency_seq_len,
               latency_test_videos=latency_side_by_side(models, feats,
                                                        args.repeats),
               latency_fixed_length=latency_side_by_side(
                   models, [concat_to_length(feats, args.latency_seq_len)],
                   args.repeats))
    write_json(res, osp.join(args.out, 'adaptivity.json'))
    md = adaptivity_markdown(res)
    with open(osp.join(args.out, 'adaptivity.md'), 'w') as f:
        f.write(md + '\n')
    print(md)
    return res


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
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
    fig.savefig(out + '.tmp.png', dpi=130)
    os.replace(out + '.tmp.png', out)
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


def adaptivity_table(args) -> List[str]:
    """Markdown rows of ``<work-dir>/adaptivity/<run>_seed<s>/
    adaptivity.json``, mean ± std over seeds per run name."""
    root = osp.join(args.work_dir, 'adaptivity')
    if not osp.isdir(root):
        return []
    groups: Dict[str, List[Dict]] = {}
    for run in sorted(os.listdir(root)):
        res = read_json(osp.join(root, run, 'adaptivity.json'))
        if res:
            groups.setdefault(run.rpartition('_seed')[0] or run,
                              []).append(res)
    if not groups:
        return []

    def cell(vals, fmt='{:.3f}'):
        if len(vals) == 1:
            return fmt.format(vals[0])
        return (fmt + ' ± ' + fmt).format(statistics.mean(vals),
                                          statistics.stdev(vals))

    lines = ['', '### Router adaptivity on the test split (trained weights; '
             'mean ± std over seeds)', '',
             '| run | seeds | tau std | boundary AUROC | mean tau boundary '
             '| action | background | avg mAP snap on | snap off | '
             'FLOPs ratio (own lengths) | latency ratio (own lengths) | '
             'latency ratio (fixed T) |', '|---' * 12 + '|']
    for name, rs in groups.items():
        st = [r['tau'] for r in rs]
        on = [r['map'].get('on', next(iter(r['map'].values())))
              ['average_mAP'] for r in rs]
        off = [r['map']['off']['average_mAP'] for r in rs
               if 'off' in r['map']]
        own = [r['latency_test_videos']['atr'] for r in rs]
        fix = [r['latency_fixed_length']['atr'] for r in rs]
        lines.append(' | '.join([
            f'| {name}', str(len(rs)),
            cell([s['tau_std'] for s in st], '{:.4f}'),
            cell([s['boundary_auroc'] for s in st]),
            cell([s['mean_tau_boundary'] for s in st]),
            cell([s['mean_tau_action'] for s in st]),
            cell([s['mean_tau_background'] for s in st]),
            cell(on, '{:.2f}'), cell(off, '{:.2f}') if off else '-',
            cell([o['flops_ratio'] for o in own], '{:.2f}'),
            cell([o['latency_ratio'] for o in own], '{:.2f}'),
            cell([o['latency_ratio'] for o in fix], '{:.2f}')]) + ' |')
    return lines


def main(argv=None):
    args = parse_args(argv)
    os.chdir(REPO)
    commands = {'bench': cmd_bench, 'compare': cmd_compare,
                'budgets': cmd_budgets, 'kd': cmd_kd, 'cost': cmd_cost,
                'pareto': cmd_pareto, 'report': cmd_report,
                'adaptivity': cmd_adaptivity, '_run': cmd_run}
    return commands[args.command](args)


if __name__ == '__main__':
    main()
