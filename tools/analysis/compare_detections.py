"""Compare the detections of several methods on the same test videos: is the
difference in average mAP larger than what the choice of test videos alone
makes?

Every results file is scored as ``tools/eval_detection.py`` scores it; then a
paired bootstrap over the test videos (``mmtal_zoom.evaluation.functional.
paired_bootstrap_map``: the same redrawn video sets for every method) gives,
for each method against the first one, the difference in average mAP with a
95% percentile interval and the share of draws in which it is positive. The
per-class table says which classes make the difference (each class weighs
``1 / #classes`` in the mean), with their number of test instances. A method
given as several results files (``NAME=seed0.json,seed1.json,...``) is their
mean in every draw: the interval is then that of the seed-averaged
difference over the test-set sampling.

Example (the reference check of docs/robustness.md)::

    python tools/analysis/compare_detections.py \\
        --gt data/family/thumos-sparse/annotations.json --subset test \\
        --pred official=official/results_raw.json ours=ours/results_raw.json \\
        --samples 2000 --out work_dirs/compare.json

The interval covers the test-set sampling only; the spread over training
seeds adds to it (train more seeds for that).
"""
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import load_repo_tool, markdown_table  # noqa: E402

from mmtal_zoom.evaluation.functional import (  # noqa: E402
    DEFAULT_TIOU_THRESHOLDS, paired_bootstrap_map, percentile_interval)
from mmtal_zoom.utils.cli import (cli_main, doc_parser,  # noqa: E402
                                  positive_int, write_json_output)


def named_paths(text: str) -> Tuple[str, List[str]]:
    """``NAME=PATH[,PATH...]`` or ``PATH`` (named after its folder)."""
    if '=' in text:
        name, paths = text.split('=', 1)
    else:
        paths = text
        name = osp.basename(osp.dirname(osp.abspath(paths))) or paths
    files = [p for p in paths.split(',') if p]
    if not name or not files:
        raise ValueError(f'--pred {text!r}: expected NAME=RESULTS.json')
    return name, files


def parse_args(argv=None):
    p = doc_parser(__doc__, __doc__.split('\n\n')[0])
    p.add_argument('--gt', required=True, metavar='ANNOTATION.json',
                   help='annotation file in the standard format')
    p.add_argument('--pred', required=True, nargs='+',
                   metavar='NAME=FILE[,FILE...]',
                   help='ActivityNet-format results, one per method; the '
                   'first is the reference the others are compared with. '
                   'Several comma-separated files (a method\'s training '
                   'seeds) are averaged in every draw')
    p.add_argument('--subset', nargs='+', default=None,
                   help='subset(s) to evaluate (default: every video)')
    p.add_argument('--tious', type=float, nargs='+',
                   default=list(DEFAULT_TIOU_THRESHOLDS))
    p.add_argument('--samples', type=positive_int, default=1000,
                   help='bootstrap draws of the test videos (default 1000)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the draws (default 0)')
    p.add_argument('--top-classes', type=int, default=5,
                   help='classes listed by their share of each difference '
                   '(default 5)')
    p.add_argument('--out', metavar='REPORT.json', default=None,
                   help='write the comparison as JSON (atomically); '
                   'figures in %% of mAP')
    return p.parse_args(argv)


def compare(gt_path: str, preds: Sequence[Tuple[str, Sequence[str]]],
            subsets=None, tious=DEFAULT_TIOU_THRESHOLDS,
            samples: int = 1000, seed: int = 0, top_classes: int = 5
            ) -> Dict:
    """The comparison as a JSON-ready dict (mAP in %). ``preds``: ``(name,
    paths)`` per method; a method with several results files (its training
    seeds) is their mean in every draw and on the full test set."""
    import numpy as np
    tool = load_repo_tool('eval_detection')  # its loaders and input checks
    ground_truth, class_names, subset_of = tool.load_ground_truth(
        gt_path, subsets)
    groups = [(name, [paths] if isinstance(paths, str) else list(paths))
              for name, paths in preds]
    loaded = [tool.load_predictions(path, class_names, ground_truth,
                                    subset_of)[0]
              for _, paths in groups for path in paths]
    res = paired_bootstrap_map(ground_truth, loaded, len(class_names),
                               tious, samples, seed)
    bounds = np.cumsum([0] + [len(paths) for _, paths in groups])

    def per_method(a, axis):
        """Mean over each method's results files along ``axis``."""
        return np.stack([a.take(range(lo, hi), axis=axis).mean(axis=axis)
                         for lo, hi in zip(bounds[:-1], bounds[1:])],
                        axis=axis)

    draws = per_method(res['average_mAP'], 1)  # (S, M)
    full_avg = per_method(res['full_average_mAP'], 0)
    full_map = per_method(res['full_mAP'], 0)
    ap = per_method(res['full_ap'].mean(axis=2), 0)  # (M, C) over tIoU
    num_gt = res['num_gt']
    present = num_gt > 0
    out = dict(gt=gt_path, subset=subsets, tiou_thresholds=list(tious),
               num_videos=len(ground_truth), samples=samples, seed=seed,
               methods=[], differences=[])
    for i, (name, paths) in enumerate(groups):
        runs = res['full_average_mAP'][bounds[i]:bounds[i + 1]]
        out['methods'].append(dict(
            name=name, pred=paths,
            average_mAP=100 * float(full_avg[i]),
            run_average_mAP=[100 * float(v) for v in runs],
            mAP={f'{t:g}': 100 * float(v)
                 for t, v in zip(tious, full_map[i])},
            bootstrap_std=100 * float(draws[:, i].std(ddof=1))
            if samples > 1 else None))
    names = [n for n, _ in groups]
    for i in range(1, len(groups)):
        diff = 100 * (draws[:, i] - draws[:, 0])
        lo, hi = percentile_interval(diff)
        share = 100 * (ap[i] - ap[0])[present] / present.sum()
        cls = [c for c, p in zip(class_names, present) if p]
        n = num_gt[present]
        order = sorted(range(len(cls)), key=lambda k: -abs(share[k]))
        out['differences'].append(dict(
            method=names[i], reference=names[0],
            average_mAP=100 * float(full_avg[i] - full_avg[0]),
            interval_95=[float(lo), float(hi)],
            positive_share=float((diff > 0).mean()),
            classes=[dict(name=cls[k], num_gt=int(n[k]),
                          share=float(share[k]))
                     for k in order[:max(top_classes, 0)]]))
    return out


def format_report(out: Dict) -> str:
    tious = [f'{t:g}' for t in out['tiou_thresholds']]
    rows = [[m['name'] + (f" (mean of {len(m['pred'])})"
                          if len(m['pred']) > 1 else '')] +
            [f"{m['mAP'][t]:.2f}" for t in tious] +
            [f"{m['average_mAP']:.2f}",
             '-' if m['bootstrap_std'] is None else
             f"{m['bootstrap_std']:.2f}"] for m in out['methods']]
    lines = [f"{out['num_videos']} test videos, {out['samples']} paired "
             f"bootstrap draws (seed {out['seed']}); mAP in %", '',
             markdown_table(['method'] + [f'mAP@{t}' for t in tious] +
                            ['avg mAP', 'bootstrap std'], rows)]
    for d in out['differences']:
        lo, hi = d['interval_95']
        lines += ['', f"{d['method']} - {d['reference']}: "
                  f"{d['average_mAP']:+.2f} avg mAP, 95% interval "
                  f"[{lo:+.2f}, {hi:+.2f}], positive in "
                  f"{100 * d['positive_share']:.1f}% of the draws"
                  + (' (the test set cannot tell them apart)'
                     if lo <= 0 <= hi else '')]
        if d['classes']:
            lines.append('  largest class shares of the difference: ' +
                         ', '.join(f"{c['name']} ({c['num_gt']} instances) "
                                   f"{c['share']:+.2f}"
                                   for c in d['classes']))
    return '\n'.join(lines)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    preds = [named_paths(p) for p in args.pred]
    for _, paths in preds:
        for path in paths:
            if not osp.isfile(path):
                raise FileNotFoundError(f'--pred {path}: no such file')
    out = compare(args.gt, preds, args.subset, args.tious, args.samples,
                  args.seed, args.top_classes)
    print(format_report(out))
    write_json_output(out, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
