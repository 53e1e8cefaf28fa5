"""Generate the embedded TAL dataset (semi-synthetic snippet features).

Writes OUT/annotations.json (the standard TAL annotation format, subsets
train / val / test) and OUT/features/<video>.npy ((T, C) float32). The
generative model is documented in mmtal_zoom/datasets/generators/synthetic.py.

Examples:
  python tools/make_synthetic_dataset.py                    # data/embedded
  python tools/make_synthetic_dataset.py --preset tiny --out /tmp/tiny
  python tools/make_synthetic_dataset.py --out data/thumos_semisyn \\
      --timings ../shared/data/thumos14/thumos14.json --val-fraction 0.2
"""
import json
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmtal_zoom.datasets.generators import PRESETS  # noqa: E402
from mmtal_zoom.datasets.generators import feature_stats  # noqa: E402
from mmtal_zoom.datasets.generators import make_embedded_dataset  # noqa: E402
from mmtal_zoom.datasets.generators.synthetic import KAPPA_BINS  # noqa: E402
from mmtal_zoom.utils.cli import add_switches, doc_parser  # noqa: E402


def parse_num_videos(items):
    """``['train=150', 'val=50']`` or ``['150', '50', '50']``."""
    if not items:
        return None
    out = {}
    for i, item in enumerate(items):
        if '=' in item:
            k, v = item.split('=', 1)
        else:
            k, v = ('train', 'val', 'test')[i], item
        try:
            out[k] = int(v)
        except ValueError:
            raise SystemExit(f'--num-videos: {item!r} is not SUBSET=N')
    return out


def parse_args(argv=None):
    p = doc_parser(__doc__)
    p.add_argument('--out',
                   default='data/embedded',
                   help='output folder (default data/embedded)')
    p.add_argument('--preset',
                   default='default',
                   choices=sorted(PRESETS),
                   help='"default": the embedded benchmark (150/50/50 '
                   'videos of 30-120 s, 10 classes, 256-d); "tiny": for '
                   'tests (12/4/4 short videos, 4 classes, 32-d); the others '
                   'make up the benchmark family (see mmtal_zoom/datasets/'
                   'generators/family.py)')
    p.add_argument('--seed',
                   type=int,
                   default=0,
                   help='generator seed (everything is deterministic)')
    p.add_argument('--timings',
                   metavar='ANNOTATION.json',
                   help='take videos, durations and instances from a real '
                   'annotation file (e.g. ../shared/data/thumos14/'
                   'thumos14.json; Validation -> train, Test -> test)')
    p.add_argument('--val-fraction',
                   type=float,
                   default=None,
                   help='with --timings: fraction of the training videos '
                   'moved to "val" (default 0)')
    p.add_argument('--num-videos',
                   nargs='+',
                   metavar='SUBSET=N',
                   help='videos per subset, e.g. train=150 val=50 test=50; '
                   'with --timings: at most N per subset')
    p.add_argument('--num-classes',
                   type=int,
                   help='number of classes (parametric timings)')
    p.add_argument('--feat-dim', type=int, help='feature channels C')
    add_switches(p, {
        '--force': 'regenerate even if OUT already holds a dataset',
    })
    p.add_argument('--compare-stats',
                   metavar='DIR',
                   help='print the marginal statistics of the generated '
                   'features next to those of the real .npy features in DIR '
                   '(e.g. ../shared/data/real_i3d_samples)')
    return p.parse_args(argv)


def summary(ann_file):
    with open(ann_file) as f:
        ann = json.load(f)
    db = ann['database']
    feat_dir = osp.join(osp.dirname(ann_file), 'features')
    lines = [f'dataset: {ann_file}']
    gen = ann.get('generator', {})
    if gen:
        lines.append(f'  generator v{gen.get("version")} seed '
                     f'{gen.get("seed")}, {gen.get("num_classes")} classes, '
                     f'feat_dim {gen.get("feat_dim")}, confusable pairs '
                     f'{gen.get("confusable_pairs")}')
    size = 0
    for sub in sorted({e['subset'] for e in db.values()}):
        vids = [v for v, e in db.items() if e['subset'] == sub]
        durs = np.array([db[v]['duration'] for v in vids])
        lens = np.array([
            a['segment'][1] - a['segment'][0] for v in vids
            for a in db[v]['annotations']
        ])
        snippets = 0
        for v in vids:
            path = osp.join(feat_dir, v + '.npy')
            if osp.isfile(path):
                size += osp.getsize(path)
                snippets += np.load(path, mmap_mode='r').shape[0]
        lines.append(
            f'  {sub:<6} {len(vids):4d} videos, {len(lens):5d} instances, '
            f'{snippets:7d} snippets; duration {durs.min():.0f}-'
            f'{durs.max():.0f} s (median {np.median(durs):.0f}); instance '
            f'length median {np.median(lens):.1f} s, '
            f'{100 * np.mean(lens < 5):.0f}% < 5 s, '
            f'{100 * np.mean(lens < 10):.0f}% < 10 s')
    kap = np.array([
        k for e in db.values() for a in e['annotations']
        for k in a.get('boundary_kappa', [])
    ])
    if kap.size:
        edges = [KAPPA_BINS[0][0], 2.0, 4.0, KAPPA_BINS[-1][1]]
        hist, _ = np.histogram(kap, bins=edges)
        lines.append(
            f'  boundary kappa (snippets): {kap.size} boundaries, range '
            f'{kap.min():.2f}-{kap.max():.2f}, median {np.median(kap):.2f}; '
            f'sharp <2: {100 * hist[0] / kap.size:.0f}%, medium 2-4: '
            f'{100 * hist[1] / kap.size:.0f}%, gradual >4: '
            f'{100 * hist[2] / kap.size:.0f}%')
    lines.append(f'  features on disk: {size / 2**20:.1f} MiB')
    return '\n'.join(lines)


def compare_stats(ann_file, real_dir, max_videos=60):
    """Generated vs real marginal statistics (see ``feature_stats``)."""
    import glob
    real = [np.load(p) for p in sorted(glob.glob(osp.join(real_dir, '*.npy')))]
    if not real:
        raise SystemExit(f'--compare-stats: no .npy files in {real_dir}')
    feat_dir = osp.join(osp.dirname(ann_file), 'features')
    gen = [
        np.load(p)
        for p in sorted(glob.glob(osp.join(feat_dir, '*.npy')))[:max_videos]
    ]
    rows = [('real (%d files)' % len(real), feature_stats(real)),
            ('generated (%d videos)' % len(gen), feature_stats(gen))]
    keys = list(rows[0][1])
    lines = ['marginal statistics: ' + ' '.join(f'{k:>8}' for k in keys)]
    for name, st in rows:
        lines.append(f'  {name:<22}' + ' '.join(f'{st[k]:8.3f}' for k in keys))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    overrides = {}
    nv = parse_num_videos(args.num_videos)
    if nv is not None:
        overrides['num_videos'] = nv
    if args.num_classes is not None:
        overrides['num_classes'] = args.num_classes
    if args.feat_dim is not None:
        overrides['feat_dim'] = args.feat_dim
    if args.val_fraction is not None:
        overrides['val_fraction'] = args.val_fraction
    t0 = time.time()
    ann = make_embedded_dataset(args.out,
                                preset=args.preset,
                                seed=args.seed,
                                timings=args.timings,
                                force=args.force,
                                progress=True,
                                **overrides)
    dt = time.time() - t0
    print(summary(ann))
    if args.compare_stats:
        print(compare_stats(ann, args.compare_stats))
    print(f'done in {dt:.1f} s' +
          (' (already present; --force to '
           'regenerate)' if dt < 0.5 and not args.force else ''))
    return ann


if __name__ == '__main__':
    main()
