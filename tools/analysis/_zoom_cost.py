"""``zoom_experiments.py``'s cost measurements: ``bench`` (tools/benchmark.py
on random weights) and ``cost`` (trained weights on the test videos, and the
training cost per step)."""
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import REPO, load_repo_tool, read_json, write_json  # noqa
from _zoom_runs import CFG, load_config, num_classes_of  # noqa: E402


def cmd_bench(args):
    tool = load_repo_tool('benchmark')
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
    """Mean GFLOPs per video (executed graph), total median latency over
    ``repeats`` rounds (None for 0: FLOPs only), mean depth used, on real
    videos."""
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
                latency_ms_per_video=statistics.median(lat) if lat else None)


def train_step_cost(args) -> Dict:
    """Per-step training time and FLOPs: uniform, ATR, ATR + BDR, ATR + BDR
    + distillation (teacher forward included). Interleaved rounds, median."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mmaction.registry import MODELS
    bench = load_repo_tool('benchmark')
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
