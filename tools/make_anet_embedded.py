#!/usr/bin/env python
"""Write the embedded ActivityNet-format set that MMAction2's BMN reads.

Synthetic videos from mmtal_zoom's synthetic generator, written in the
layout of MMAction2's ActivityNet localization data: one CSV per video with
the snippet features rescaled to ``--temporal-scale`` points (MMAction2's
``pool_feature`` maths) and ``anet_anno_{train,val,test,full}.json``. The
configs in configs/rcl/ read it from ``data/anet_embedded``::

    python tools/make_anet_embedded.py --out data/anet_embedded
    python tools/make_anet_embedded.py --out /tmp/anet --gen-arg \\
        num_videos='{"train": 20, "val": 5, "test": 10}'

``--gen-arg KEY=VALUE`` (repeatable; VALUE parsed as JSON when it is valid
JSON, else kept as a string) is passed to ``generate_synthetic_database``;
see its docstring for the keys. ``--planted`` writes a minimal database with
planted actions instead (no generator; for smoke runs).
"""
import argparse
import json
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--out', default=osp.join('data', 'anet_embedded'),
                   help='output directory (default: data/anet_embedded)')
    p.add_argument('--feat-dim', type=int, default=400,
                   help='feature channels (BMN default 400)')
    p.add_argument('--temporal-scale', type=int, default=100,
                   help='rows per CSV = BMN temporal_dim (default 100)')
    p.add_argument('--seed', type=int, default=0, help='generator seed')
    p.add_argument('--gen-arg', action='append', default=[],
                   metavar='KEY=VALUE',
                   help='extra keyword for generate_synthetic_database')
    p.add_argument('--planted', type=int, default=0, metavar='NUM_VIDEOS',
                   help='write NUM_VIDEOS planted-action videos instead of '
                   'running the synthetic generator')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def _parse_gen_args(items):
    kwargs = {}
    for item in items:
        if '=' not in item:
            raise SystemExit(f'--gen-arg expects KEY=VALUE, got {item!r}')
        key, value = item.split('=', 1)
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, REPO)
    from mmtal_zoom.datasets.generators.anet_format import (
        make_anet_embedded, planted_anet_database, write_anet_dataset)
    t0 = time.time()
    if args.planted:
        database, features = planted_anet_database(
            num_videos=args.planted, feat_dim=args.feat_dim, seed=args.seed)
        paths = write_anet_dataset(args.out, database, features,
                                   temporal_scale=args.temporal_scale,
                                   progress=not args.no_progress)
    else:
        paths = make_anet_embedded(
            args.out, feat_dim=args.feat_dim,
            temporal_scale=args.temporal_scale, seed=args.seed,
            progress=not args.no_progress,
            generator_kwargs=_parse_gen_args(args.gen_arg))
    counts = {}
    for split in ('train', 'val', 'test'):
        db = json.load(open(paths[split]))
        counts[split] = (len(db), sum(len(v['annotations'])
                                      for v in db.values()))
    print(f'wrote {args.out} in {time.time() - t0:.1f} s: ' + ', '.join(
        f'{k} {v[0]} videos / {v[1]} instances' for k, v in counts.items()))
    for key, path in paths.items():
        print(f'  {key}: {path}')


if __name__ == '__main__':
    main()
