#!/usr/bin/env python
"""Detect actions in new videos with a trained localizer.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] \\
        [--out result.json] [--plot timeline.png] [--score-thr 0.1] \\
        [--gt ANNOTATION.json]

INPUT: a feature file (.npy / .pt of shape (T, C)), a video (then
--extractor-config [--extractor-checkpoint] extract its features first, with
the localizer's feat_stride), or a folder of either. For each video prints a
table of detections (start, end, score, class); --out writes them as
ActivityNet-format JSON ({"results": {video: [{"label", "segment",
"score"}]}}, readable by tools/eval_detection.py); --plot draws a timeline of
the detections per video (and the ground truth when --gt is given).

Times in seconds follow the snippet convention of
mmtal_zoom/structures/time_grid.py with the config's feat_stride / num_frames
and the fps of, in order: --fps, the --gt entry of the video, the extractor,
the config's default_fps. The duration likewise (--duration, --gt, the video,
else what T snippets cover).

--onnx MODEL.onnx runs the backbone/neck/head tensors with onnxruntime
(tools/export_onnx.py); decoding and Soft-NMS stay the head's own Python
code, so both backends give the same detections.
"""
import os
import os.path as osp
import sys

from mmengine.config import DictAction

import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
from mmtal_zoom.apis.checkpoint import add_trust_args, trust_context
from mmtal_zoom.apis.feature_extraction import (VIDEO_EXTENSIONS,
                                                ClipFeatureExtractor)
from mmtal_zoom.apis.inference import (FEATURE_SUFFIXES, dump_anet_results,
                                       inference_localizer, init_localizer)
from mmtal_zoom.datasets.validation import (DATASET_ERRORS, ValidationReport,
                                            check_annotations, raise_on_errors)
from mmtal_zoom.utils import load_json
from mmtal_zoom.utils.cli import (cli_main, finite_float, localizer_parser,
                                  positive_float, positive_int)


def parse_args(argv=None):
    parser = localizer_parser(__doc__)
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='feature file, video, or folder of them')
    parser.add_argument('--out', help='ActivityNet-format results .json')
    parser.add_argument('--plot', help='timeline plot .png')
    parser.add_argument('--score-thr', type=finite_float, default=0.1,
                        help='keep detections scoring at least this '
                        '(default 0.1)')
    parser.add_argument('--gt', help='annotation JSON: ground truth for the '
                        'plot, duration / fps of known videos')
    parser.add_argument('--topk', type=positive_int, default=10,
                        help='rows per video in the printed table '
                        '(default 10; the JSON keeps all)')
    parser.add_argument('--extractor-config',
                        help='MMAction2 recognizer config, for video inputs')
    parser.add_argument('--extractor-checkpoint',
                        help='its weights (omitted: random, tests only)')
    parser.add_argument('--fps', type=positive_float,
                        help='fps of the snippet grid (> 0)')
    parser.add_argument('--duration', type=positive_float,
                        help='video duration in seconds (one input only)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--onnx', help='run the tensor path of this ONNX '
                        'model (tools/export_onnx.py) with onnxruntime')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    add_trust_args(parser)
    return parser.parse_args(argv)


def expand_inputs(inputs):
    """Files as given; folders -> their feature files and videos, sorted
    (a video whose features lie beside it is not extracted again). Two
    inputs with the same name (from different folders) are refused."""
    out = []
    for item in inputs:
        if osp.isdir(item):
            by_stem = {}
            for f in sorted(os.listdir(item)):
                stem, ext = osp.splitext(f)
                if ext.lower() in FEATURE_SUFFIXES:
                    prev = by_stem.get(stem, '')
                    if not prev.endswith('.npy'):  # .npy wins, as the loader
                        by_stem[stem] = osp.join(item, f)
                elif ext.lower() in VIDEO_EXTENSIONS:
                    by_stem.setdefault(stem, osp.join(item, f))
            if not by_stem:
                raise ValueError(f'{item}: no feature files or videos.')
            out += [by_stem[k] for k in sorted(by_stem)]
        elif osp.isfile(item):
            out.append(item)
        else:
            raise FileNotFoundError(f'{item}: no such file or folder.')
    seen = {}
    for path in out:
        name = osp.splitext(osp.basename(path))[0]
        if name in seen:
            raise ValueError(
                f'two inputs are named "{name}": {seen[name]} and {path}; '
                'results are keyed by video name, so one would be lost. '
                'Rename one or run them separately.')
        seen[name] = path
    return out


def load_gt(path):
    if path is None:
        return {}
    ann = load_json(path, '--gt annotation file')
    if not isinstance(ann, dict) or not isinstance(ann.get('database'),
                                                   dict):
        raise ValueError(f'{path}: expected a standard annotation JSON with '
                         'a "database".')
    # the dataset's checks (fps may be absent: the config's default applies)
    report = ValidationReport()
    check_annotations(ann['database'], report, where=path)
    raise_on_errors(report, DATASET_ERRORS - {'no-fps'})
    return ann['database']


def format_table(pred, topk):
    meta = pred.metainfo
    lines = [f'{meta["video_name"]} ({meta["duration"]:.2f} s, '
             f'{meta.get("feat_len", "?")} snippets): {len(pred)} '
             'detection(s)']
    if len(pred):
        lines.append(f'  {"#":>3}  {"start (s)":>9}  {"end (s)":>9}  '
                     f'{"length":>7}  {"score":>6}  class')
    segs = pred.segments.tolist()
    for i in range(min(topk, len(pred))):
        s, e = segs[i]
        lines.append(f'  {i + 1:>3}  {s:9.2f}  {e:9.2f}  {e - s:7.2f}  '
                     f'{float(pred.scores[i]):6.3f}  {pred.label_names[i]}')
    if len(pred) > topk:
        lines.append(f'  ... {len(pred) - topk} more (see --out)')
    return '\n'.join(lines)


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    inputs = expand_inputs(args.inputs)
    gt_db = load_gt(args.gt)
    if args.duration is not None and len(inputs) > 1:
        raise ValueError('--duration applies to one input only')
    with trust_context(args, args.checkpoint):
        model = init_localizer(args.config, args.checkpoint, args.device,
                               cfg_options=args.cfg_options)
    classes = list(model.dataset_meta['classes'])
    extractor = None
    if any(p.lower().endswith(VIDEO_EXTENSIONS) for p in inputs):
        if not args.extractor_config:
            raise ValueError('video inputs need --extractor-config (or '
                             'extract features first with '
                             'tools/extract_features.py)')
        extractor = ClipFeatureExtractor(
            args.extractor_config, args.extractor_checkpoint,
            device=args.device,
            feat_stride=model.dataset_meta['feat_stride'])
    session = None
    if args.onnx:
        from mmtal_zoom.apis.onnx_export import load_onnx_session
        session = load_onnx_session(args.onnx, args.device)

    preds = []
    for path in inputs:
        name = osp.splitext(osp.basename(path))[0]
        entry = gt_db.get(name, {})
        pred = inference_localizer(
            model, path, video_name=name,
            duration=args.duration or entry.get('duration'),
            fps=args.fps or entry.get('fps'), score_thr=args.score_thr,
            extractor=extractor, onnx_session=session)
        preds.append(pred)
        print(format_table(pred, args.topk))
    if args.out:
        dump_anet_results(preds, args.out, classes)
        print(f'wrote {args.out}')
    if args.plot:
        from mmtal_zoom.visualization import plot_detection_timelines
        names = list(classes)
        rows = []
        for pred in preds:
            meta = pred.metainfo
            entry = gt_db.get(meta['video_name'], {})
            gt_segs, gt_labels = [], []
            for a in entry.get('annotations') or []:
                if a.get('label') not in names:
                    names.append(a.get('label'))  # a class the model lacks
                gt_segs.append(a['segment'])
                gt_labels.append(names.index(a.get('label')))
            rows.append(dict(
                video_name=meta['video_name'], duration=meta['duration'],
                gt_segments=gt_segs, gt_labels=gt_labels,
                pred_segments=pred.segments, pred_scores=pred.scores,
                pred_labels=pred.labels))
        title = (f'{osp.basename(args.config)}: detections (score >= '
                 f'{args.score_thr:g})' +
                 (' vs ground truth' if gt_db else ''))
        plot_detection_timelines(rows, args.plot, class_names=names,
                                 score_thr=args.score_thr, title=title)
        print(f'wrote {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
