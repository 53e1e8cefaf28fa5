"""``zoom_experiments.py adaptivity``: does a trained ATR router vary depth,
and where? tau's spread, its boundary AUROC, the zone means, mAP with BDR
snapping on / off, side-by-side cost against a uniform-depth control; and
the report's table of these results."""
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import read_json, write_json  # noqa: E402
from _zoom_runs import CFG, load_config, num_classes_of  # noqa: E402


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
    """One predict pass per test video: tau per valid token, the router's
    coarse boundary probability ``u = max(p_start, p_end)`` (what its
    uncertainty prior reads), the grid-unit ground truth, and the
    predictions for mAP."""
    import numpy as np
    import torch

    from mmtal_zoom.evaluation.functional import evaluate_detection
    videos, gt, preds = [], {}, {}
    coarse = {}
    router = getattr(model.backbone, 'router', None)
    hook = (router.coarse.register_forward_hook(
        lambda mod, args, out: coarse.__setitem__('logits', out[0]))
        if router is not None else None)
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
            u = (torch.sigmoid(coarse['logits'][0, 1:, :length]).amax(0)
                 .cpu().numpy() if 'logits' in coarse else None)
            videos.append(dict(
                name=name, tau=tau, coarse_boundary=u,
                segments=out.gt_instances.segments.cpu().numpy()))
            gt[name] = dict(segments=out.metainfo['eval_gt_segments'],
                            labels=out.metainfo['eval_gt_labels'])
            p = out.pred_instances
            preds[name] = dict(segments=p.segments.cpu().numpy(),
                               scores=p.scores.cpu().numpy(),
                               labels=p.labels.cpu().numpy())
    if hook is not None:
        hook.remove()
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
    if all(v.get('coarse_boundary') is not None for v in videos):
        # the same AUROC for the coarse boundary probability the prior
        # reads: how well the shallow stage finds boundaries at all
        u = np.concatenate([v['coarse_boundary'] for v in videos])
        out['coarse_boundary_auroc'] = auroc(u, zones == 2)
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


def peak_memory_isolated(models: Dict, x, threads: int) -> Dict:
    """Peak memory (MB) of one tensor-mode pass of each trained model over
    the features ``x (C, T)``, each in a fresh process
    (:func:`mmtal_zoom.utils.benchmark.measure_isolated` with the model's
    config, weights and these inputs), so that memory kept by the allocator
    from other work cannot hide any of it. ``models``: name -> (config,
    checkpoint or None)."""
    import tempfile

    import numpy as np

    from mmtal_zoom.utils.benchmark import measure_isolated
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        feats = osp.join(tmp, 'inputs.npy')
        np.save(feats, x.cpu().numpy())
        for n, (cfg, ckpt) in models.items():
            path = osp.join(tmp, f'{n}.py')
            cfg.dump(path)
            row = measure_isolated(path, threads=threads, checkpoint=ckpt,
                                   inputs=feats, repeats=1, warmup=0)
            rows[n] = dict(peak_mem_mb=row['peak_mem_mb'],
                           peak_mem_method=row['peak_mem_method'])
    ref = next(iter(rows.values()))['peak_mem_mb']
    for r in rows.values():
        r['peak_mem_ratio'] = r['peak_mem_mb'] / ref if ref else None
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
    if 'coarse_boundary_auroc' in st:
        lines += ['Boundary AUROC of the coarse boundary probability the '
                  "router's prior reads (max(p_start, p_end)): "
                  f"{st['coarse_boundary_auroc']:.3f}.", '']
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
    if res.get('peak_memory_fixed_length'):
        lines += ['', 'Peak memory, one pass at '
                  f"T = {res['latency_seq_len']}, each model in a fresh "
                  'process: ' + ', '.join(
                      f"{n} {r['peak_mem_mb']:.1f} MB" + (
                          '' if r['peak_mem_ratio'] is None else
                          f" ({r['peak_mem_ratio']:.3f}x)")
                      for n, r in res['peak_memory_fixed_length'].items())
                  + '.']
    weights = res['uniform_checkpoint'] or (
        'random (its tensor-mode cost does not depend on them)')
    lines += ['', f"Uniform control: `{res['uniform_config']}`, weights "
              f'{weights}; ATR: the checkpoint above.', '',
              f"Plot: `{res['plot']}`"]
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
    uniform_model_cfg, uniform = build_model(uniform_cfg,
                                             args.uniform_checkpoint, args)
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
    fixed = concat_to_length(feats, args.latency_seq_len)
    res = dict(config=args.config, checkpoint=args.checkpoint,
               uniform_config=uniform_cfg,
               uniform_checkpoint=args.uniform_checkpoint,
               tau=tau_statistics(videos, args.boundary_radius), map=maps,
               plot=plot, repeats=args.repeats, threads=args.threads,
               latency_seq_len=args.latency_seq_len,
               latency_test_videos=latency_side_by_side(models, feats,
                                                        args.repeats),
               latency_fixed_length=latency_side_by_side(
                   models, [fixed], args.repeats),
               peak_memory_fixed_length=peak_memory_isolated(
                   {'uniform': (uniform_model_cfg, args.uniform_checkpoint),
                    'atr': (cfg, args.checkpoint)}, fixed, args.threads))
    write_json(res, osp.join(args.out, 'adaptivity.json'))
    md = adaptivity_markdown(res)
    with open(osp.join(args.out, 'adaptivity.md'), 'w') as f:
        f.write(md + '\n')
    print(md)
    return res


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
