#!/usr/bin/env python
"""Speed of the vectorised detection mAP vs MMAction2's reference, side by
side.

Generates a seeded THUMOS-like problem (default 200 videos x 20 classes, ~200
predictions per video, unique scores), computes per-class AP at the given
tIoU thresholds with

* the reference: ``mmaction.evaluation.functional.
  average_precision_at_temporal_iou`` called once per class (how an
  ActivityNet-style evaluation is done with MMAction2; building its per-class
  inputs is not timed), and
* ours: ``mmtal_zoom.evaluation.functional.detection_average_precision`` on
  the flat arrays (all its grouping timed), and the full
  ``evaluate_detection`` (plus length buckets and recall@k),

each timed as the fastest of several runs (the least disturbed by other
processes on a shared machine),

checks that the numbers agree (max abs diff, must be <= 1e-6) and prints the
speed ratio::

    OMP_NUM_THREADS=1 python tools/analysis/benchmark_metric.py
"""
import argparse
import os
import platform
import sys
import time

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--videos', type=int, default=200)
    parser.add_argument('--classes', type=int, default=20)
    parser.add_argument('--preds-per-video', type=int, default=200)
    parser.add_argument('--tious', nargs='+', type=float,
                        default=[0.3, 0.4, 0.5, 0.6, 0.7])
    parser.add_argument('--repeats', type=int, default=10,
                        help='timed runs of ours (the fastest is reported: '
                        'the least disturbed by other processes)')
    parser.add_argument('--ref-repeats', type=int, default=3,
                        help='timed runs of the reference (fastest reported)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_problem(num_videos, num_classes, preds_per_video, seed):
    """THUMOS-like ground truth and predictions.

    Videos of 30-600 s with 1-3 classes each and on average 15 instances
    (log-normal lengths, median 3 s); predictions: a few jittered copies of
    each instance (sometimes with a wrong class), scored higher the closer
    they are, plus random background segments with lower scores; all scores
    unique.
    """
    rng = np.random.default_rng(seed)
    gt_v, gt_s, gt_l, pr_v, pr_s, pr_l, raw = [], [], [], [], [], [], []
    for v in range(num_videos):
        duration = rng.uniform(30, 600)
        classes = rng.choice(num_classes, size=rng.integers(1, 4),
                             replace=False)
        n = max(1, rng.poisson(15))
        length = np.clip(rng.lognormal(np.log(3.0), 0.8, n), 0.2, 100)
        start = rng.uniform(0, np.maximum(duration - length, 1e-3))
        labels = rng.choice(classes, size=n)
        gt_v.append(np.full(n, v))
        gt_s.append(np.stack([start, start + length], 1))
        gt_l.append(labels)
        # jittered copies of the ground truth
        copies = rng.integers(0, 6, n)
        idx = np.repeat(np.arange(n), copies)
        centre = (start + length / 2)[idx] + rng.normal(
            0, 0.3, idx.size) * length[idx]
        plen = length[idx] * rng.uniform(0.5, 1.5, idx.size)
        lab = np.where(rng.random(idx.size) < 0.85, labels[idx],
                       rng.choice(classes, size=idx.size))
        # random background detections up to preds_per_video
        k = max(0, preds_per_video - idx.size)
        rlen = np.clip(rng.lognormal(np.log(3.0), 1.0, k), 0.2, 200)
        rstart = rng.uniform(0, duration, k)
        rlab = np.where(rng.random(k) < 0.7, rng.choice(classes, size=k),
                        rng.integers(0, num_classes, k))
        pr_v.append(np.full(idx.size + k, v))
        pr_s.append(np.concatenate([
            np.stack([centre - plen / 2, centre + plen / 2], 1),
            np.stack([rstart, rstart + rlen], 1)
        ]))
        pr_l.append(np.concatenate([lab, rlab]))
        # detections near ground truth tend to score higher
        raw.append(np.concatenate([
            rng.uniform(0.2, 1.0, idx.size) * np.exp(-np.abs(
                centre - (start + length / 2)[idx]) / length[idx]),
            rng.uniform(0.0, 0.5, k)
        ]))
    gt = (np.concatenate(gt_v), np.concatenate(gt_s), np.concatenate(gt_l))
    raw = np.concatenate(raw)
    num_pred = len(raw)
    # unique scores in (0, 1) with the order of the raw ones
    scores = np.empty(num_pred)
    scores[np.argsort(raw, kind='stable')] = np.arange(1, num_pred + 1)
    scores /= num_pred + 1.0
    pred = (np.concatenate(pr_v), np.concatenate(pr_s), scores,
            np.concatenate(pr_l))
    return gt, pred


def reference_inputs(gt, pred, num_classes):
    """Per-class inputs of ``average_precision_at_temporal_iou``."""
    (gv, gs, gl), (pv, ps, sc, pl) = gt, pred
    per_class = []
    for c in range(num_classes):
        ground_truth = {}
        for v, s in zip(gv[gl == c], gs[gl == c]):
            ground_truth.setdefault(f'v{v}', []).append([s[0], s[1]])
        m = pl == c
        prediction = [[f'v{v}', c, s[0], s[1], p]
                      for v, s, p in zip(pv[m], ps[m], sc[m])]
        per_class.append((ground_truth, prediction))
    return per_class


def main():
    args = parse_args()
    import mmtal_zoom  # noqa: F401  (applies the compat work-arounds)
    from mmaction.evaluation.functional import \
        average_precision_at_temporal_iou
    from mmtal_zoom.evaluation.functional import (detection_average_precision,
                                                  evaluate_detection)

    gt, pred = make_problem(args.videos, args.classes, args.preds_per_video,
                            args.seed)
    thr = np.asarray(args.tious, dtype=np.float64)
    print(f'problem: {args.videos} videos, {args.classes} classes, '
          f'{len(gt[2])} ground-truth instances, {len(pred[2])} predictions '
          f'({len(pred[2]) / args.videos:.0f} per video), tIoU {args.tious}')
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} CPUs, OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS", "unset")}, Python '
          f'{sys.version.split()[0]}, numpy {np.__version__}')

    inputs = reference_inputs(gt, pred, args.classes)
    ref_times = []
    for _ in range(args.ref_repeats):
        t0 = time.perf_counter()
        ref = np.stack([
            average_precision_at_temporal_iou(g, p, thr) for g, p in inputs
        ])
        ref_times.append(time.perf_counter() - t0)
    t_ref = min(ref_times)

    times, times_full = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = detection_average_precision(*gt, *pred, args.classes, thr)
        times.append(time.perf_counter() - t0)
    gts = {}
    for v, s, lab in zip(*gt):
        d = gts.setdefault(f'v{v}', dict(segments=[], labels=[]))
        d['segments'].append(s)
        d['labels'].append(lab)
    preds = {}
    pv, ps, sc, pl = pred
    for v in np.unique(pv):
        m = pv == v
        preds[f'v{v}'] = dict(segments=ps[m], scores=sc[m], labels=pl[m])
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        full = evaluate_detection(gts, preds, args.classes, thr)
        times_full.append(time.perf_counter() - t0)

    diff = float(np.nanmax(np.abs(ours - ref)))
    diff_full = float(np.nanmax(np.abs(full['ap'] - ref)))
    t_ours, t_full = min(times), min(times_full)
    print('mAP per tIoU (reference): '
          f'{[round(float(x), 4) for x in ref.mean(0)]}')
    print('mAP per tIoU (ours):      '
          f'{[round(float(x), 4) for x in ours.mean(0)]}')
    print(f'max |AP_ours - AP_ref| over {ref.size} class x tIoU values: '
          f'{diff:.2e} (evaluate_detection: {diff_full:.2e})')
    print(f'reference, mmaction per class:  {t_ref * 1e3:8.1f} ms '
          f'(fastest of {args.ref_repeats})')
    print(f'ours, detection_average_precision: {t_ours * 1e3:8.1f} ms '
          f'(fastest of {args.repeats})  -> {t_ref / t_ours:.1f}x faster')
    print(f'ours, evaluate_detection (+ length buckets, recall@k): '
          f'{t_full * 1e3:.1f} ms  -> {t_ref / t_full:.1f}x faster')
    if not diff <= 1e-6 or not diff_full <= 1e-6:
        print('MISMATCH: the numbers differ from the reference by more than '
              '1e-6', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
