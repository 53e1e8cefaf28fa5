#!/usr/bin/env python
"""THUMOS14-style videos as fixed-length windows for BMN / BMN + RCL.

BMN-style localizers (MMAction2's ``BMN``, ``BMNRCL``) read one fixed-length
feature file per video. On long videos (THUMOS14) they run on windows of the
snippet features, as BMN, G-TAD and RCL do; ``split`` writes the windows in
MMAction2's ActivityNet layout, ``stitch`` turns the windows' proposals
(``tools/test.py`` with ``ANetMetric``'s dump) back into per-video
proposals, or detections with a video-level classifier, which
``tools/eval_detection.py`` scores against the original annotation::

    T=data/thumos14
    CFG=configs/rcl/bmn-rcl_i3d-feat_1xb16-10e_thumos14-window128.py
    python tools/bmn_windows.py split --ann $T/annotations/thumos14.json \\
        --features $T/i3d_features --out $T/bmn_windows128 \\
        --subset-map Validation=train Test=test
    python tools/train.py $CFG
    python tools/test.py $CFG work_dirs/bmn_rcl_thumos14_window128/epoch_10.pth
    python tools/bmn_windows.py stitch \\
        --windows $T/bmn_windows128/anet_anno_test.json \\
        --results work_dirs/bmn_rcl_thumos14_window128/results.json \\
        --classifier thumos14_video_scores.json --out detections.json
    python tools/eval_detection.py --gt $T/annotations/thumos14.json \\
        --pred detections.json --subset Test

The classifier file is the CUHK-style JSON of ``VideoClassifierFusion``
(``{"results": {video: [score per class]}, "class": [names]}``; THUMOS14
detections pair proposals with the top-2 classes of a video classifier such
as UntrimmedNet). Without ``--classifier`` the output holds class-agnostic
proposals (``label`` omitted). Window rules (own design where the papers are
silent): see ``mmtal_zoom/datasets/converters/bmn_windows.py``.
"""
import argparse
import sys
from typing import Dict, Optional

import numpy as np

from mmtal_zoom.datasets.converters.bmn_windows import (
    stitch_window_proposals, write_bmn_windows)
from mmtal_zoom.utils.cli import (cli_main, fraction, positive_int,
                                  write_json_output)
from mmtal_zoom.utils.io import load_json


def _subset_map(items) -> Optional[Dict[str, str]]:
    if not items:
        return None
    out = {}
    for item in items:
        src, sep, dst = item.partition('=')
        if not sep or dst not in ('train', 'val', 'test'):
            raise ValueError(f'--subset-map expects SUBSET=train|val|test, '
                             f'got {item!r}')
        out[src] = dst
    return out


# (flag, type, default, help) of the options with a default
SPLIT_OPTIONS = [
    ('--window', positive_int, 128,
     'snippets per window = BMN temporal_dim (128)'),
    ('--stride', positive_int, None,
     'snippets between windows (default window / 2)'),
    ('--feat-stride', positive_int, 4,
     'frames between snippets (I3D on THUMOS14: 4)'),
    ('--num-frames', positive_int, 16, 'frames per snippet (16)'),
    ('--min-overlap', fraction, 0.75,
     'share of an instance that must lie in a window'),
]
STITCH_OPTIONS = [
    ('--max-per-video', positive_int, 200,
     'proposals kept per video (200, RCL on THUMOS14)'),
    ('--iou-threshold', fraction, 0.3,
     'Soft-NMS threshold across windows (0.3)'),
    ('--classifier', str, None,
     'CUHK-style video-level class scores -> detections'),
    ('--classes', str, None, 'class order: the annotation JSON or a name '
     'list (default: the classifier file\'s names sorted)'),
    ('--topk', positive_int, 2, 'classes per video with --classifier (2)'),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    s = sub.add_parser('split', help='write the windows (MMAction2 layout)')
    t = sub.add_parser('stitch', help='windows\' proposals -> videos')
    for parser, required in (
        (s, [('--ann', 'standard TAL annotation JSON (thumos14.json)'),
             ('--features', 'folder of <video>.npy (T, C) features'),
             ('--out', 'output folder')]),
        (t, [('--windows', 'anet_anno_<split>.json written by split'),
             ('--results', 'the results JSON ANetMetric dumped'),
             ('--out', 'output results JSON')]),
    ):
        for flag, text in required:
            parser.add_argument(flag, required=True, help=text)
    for parser, options in ((s, SPLIT_OPTIONS), (t, STITCH_OPTIONS)):
        for flag, kind, default, text in options:
            parser.add_argument(flag, type=kind, default=default, help=text)
    s.add_argument('--subset-map', nargs='+', metavar='SUBSET=SPLIT',
                   help='e.g. Validation=train Test=test (THUMOS14); '
                   'default: train / val / test by name')
    return p.parse_args(argv)


def split(args) -> int:
    database = load_json(args.ann, 'annotation file')
    db = database.get('database', database)
    features = {}
    for video in db:
        path = f'{args.features}/{video}.npy'
        try:
            features[video] = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            continue  # videos without features are skipped (reported)
    missing = sorted(set(db) - set(features))
    db = {v: e for v, e in db.items() if v in features}
    if not db:
        raise FileNotFoundError(f'{args.features}: no <video>.npy for any '
                                f'video of {args.ann}')
    paths = write_bmn_windows(
        args.out, db, features, window=args.window,
        stride=args.stride, feat_stride=args.feat_stride,
        num_frames=args.num_frames, min_overlap=args.min_overlap,
        subset_map=_subset_map(args.subset_map))
    for key in ('train', 'val', 'test'):
        n = len(load_json(paths[key], 'windows file'))
        print(f'{key}: {n} windows -> {paths[key]}')
    if missing:
        print(f'{len(missing)} video(s) without features skipped, e.g. '
              f'{missing[:3]}', file=sys.stderr)
    return 0


def stitch(args) -> int:
    windows = load_json(args.windows, 'windows file')
    dumped = load_json(args.results, 'results file')
    results = dumped.get('results') if isinstance(dumped, dict) else None
    if not isinstance(results, dict):
        raise ValueError(f'{args.results}: expected {{"results": {{window: '
                         '[{"segment", "score"}]}}}')
    merged = stitch_window_proposals(
        windows, results, dict(method='linear',
                               iou_threshold=args.iou_threshold),
        max_per_video=args.max_per_video)
    fusion = None
    if args.classifier:
        from mmtal_zoom.models.task_modules.classifier_fusion import \
            VideoClassifierFusion
        fusion = VideoClassifierFusion(args.classifier, topk=args.topk,
                                       classes=args.classes,
                                       max_per_video=args.max_per_video)
    out = {}
    for video, (segs, scores) in sorted(merged.items()):
        if fusion is None:
            out[video] = [dict(segment=[float(s), float(e)], score=float(p))
                          for (s, e), p in zip(segs, scores)]
            continue
        segs, scores, labels = fusion(video, segs, scores)
        out[video] = [dict(segment=[float(s), float(e)], score=float(p),
                           label=fusion.class_names[int(c)])
                      for (s, e), p, c in zip(segs, scores, labels)]
    write_json_output(dict(version='mmtal_zoom bmn_windows stitch',
                           results=out, external_data={}), args.out)
    return 0


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    return split(args) if args.command == 'split' else stitch(args)


if __name__ == '__main__':
    sys.exit(main())
