#!/usr/bin/env python
"""Evaluate an ActivityNet-format results file against a standard annotation.

Works for any method's results (``{"results": {video: [{"label": name,
"segment": [s, e], "score": p}]}}``, labels by class name), e.g. those written
by ``tools/test.py --out``, ActionFormer, TriDet or OpenTAD::

    python tools/eval_detection.py \\
        --gt ../shared/data/thumos14/thumos14.json \\
        --pred work_dirs/results.json --subset Test --out metrics.json

The numbers are those of MMAction2's ActivityNet detection evaluation
(``mmaction.evaluation.functional.average_precision_at_temporal_iou``),
computed by the vectorised ``mmtal_zoom.evaluation.functional``.
"""
import argparse
import math
import sys
import textwrap
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmtal_zoom.datasets.validation import segment_problem
from mmtal_zoom.evaluation.functional import (DEFAULT_LENGTH_BUCKETS,
                                              DEFAULT_RECALL_TOPK,
                                              DEFAULT_TIOU_THRESHOLDS,
                                              evaluate_detection)
from mmtal_zoom.evaluation.metrics.tal_detection_metric import (
    average_recall_at_an, format_detection_report, nan_to_none)
from mmtal_zoom.utils import JSONInputError, load_json
from mmtal_zoom.utils.annotations import classes_from_database
from mmtal_zoom.utils.cli import (add_switches, cli_main, fraction,
                                  positive_int, write_json_output)


class EvalInputError(ValueError):
    """Bad annotation or results file (the message names what is wrong)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.fill(
            'Rules: ground-truth videos outside --subset are ignored (their '
            'predictions too, with a note); a ground-truth video without an '
            'entry in the results has no detections; a prediction for a '
            'video that is not in the annotation, or with a label that is '
            'not one of its classes, is an error that names it (exit code '
            '2). mAP averages the classes that have ground truth in the '
            'evaluated subset. Length buckets: lo <= length < hi seconds; '
            'a prediction matched to ground truth of another bucket is '
            'ignored (DETAD). recall@k: fraction of ground truth covered '
            '(right class, tIoU >= t) by one of the top-k predictions of '
            'its video.'))
    parser.add_argument('--gt', required=True, metavar='ANNOTATION.json',
                        help='annotation file in the standard format '
                        '{"database": {video: {"subset", "duration", '
                        '"annotations": [{"label", "segment", "label_id"}]}}}')
    parser.add_argument('--pred', required=True, metavar='RESULTS.json',
                        help='ActivityNet-format results '
                        '{"results": {video: [{"label", "segment", '
                        '"score"}]}}')
    parser.add_argument('--subset', nargs='+', default=None,
                        help='subset name(s) to evaluate, as written in the '
                        'annotation (case-insensitive), e.g. Test; default: '
                        'every video of the annotation')
    parser.add_argument('--tious', nargs='+', type=fraction,
                        default=list(DEFAULT_TIOU_THRESHOLDS),
                        help='tIoU thresholds (default: %(default)s)')
    parser.add_argument('--recall-topk', nargs='+', type=positive_int,
                        default=list(DEFAULT_RECALL_TOPK),
                        help='k of recall@k, predictions per video '
                        '(default: %(default)s)')
    add_switches(parser, {
        '--no-length-buckets':
            'skip mAP by instance length (default buckets '
            '<2s, 2-5s, 5-10s, >10s)',
        '--no-per-class': 'do not print the per-class AP table',
        '--ar-an':
            'also report class-agnostic AR@AN (AN = 1..100) '
            'and its AUC by the ActivityNet proposal protocol '
            '(tIoU 0.5:0.05:0.95; equal to MMAction2\'s '
            'ANetMetric on the same detections), so detectors '
            'compare with proposal generators',
    })
    parser.add_argument('--out', default=None, metavar='metrics.json',
                        help='write the metrics as JSON (atomically): '
                        '{"mAP": {"0.3": ...}, "average_mAP", "per_class_AP", '
                        '"mAP_by_length", "recall", ...}; fractions in '
                        '[0, 1], null where undefined')
    return parser.parse_args(argv)


def _load_json(path: str, what: str) -> dict:
    try:
        return load_json(path, f'{what} file')
    except (FileNotFoundError, JSONInputError) as e:
        raise EvalInputError(str(e)) from None


def _load_json_object(path: str, what: str, key: str, expected: str) -> dict:
    """The object under ``key`` of the ``what`` file ``path``, whose layout
    the error message shows as ``expected``."""
    data = _load_json(path, what)
    obj = data.get(key) if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise EvalInputError(f'{what} file {path} has no "{key}" object; '
                             f'expected {expected}')
    return obj


def _segment(value, where: str, prediction: bool = False
             ) -> Tuple[float, float]:
    """``[start, end]`` checked by the validator's :func:`segment_problem`:
    ground truth may not be reversed; a prediction must also have a
    positive length and start at or after 0 s."""
    problem = segment_problem(value, allow_empty=not prediction,
                              allow_negative=not prediction)
    if problem is not None:
        raise EvalInputError(f'{where}: {problem}')
    return float(value[0]), float(value[1])


def _score(det: dict, where: str) -> float:
    score = det.get('score')
    if (not isinstance(score, Real) or isinstance(score, bool)
            or not math.isfinite(score)):
        raise EvalInputError(f'{where}: "score" must be a finite number, '
                             f'got {score!r}')
    return float(score)


def load_ground_truth(path: str, subsets: Optional[Sequence[str]] = None
                      ) -> Tuple[Dict[str, dict], List[str], Dict[str, str]]:
    """Read a standard annotation file.

    Returns:
        tuple: ``ground_truth`` (video -> dict(segments, labels)) of the
        selected subsets, ``class_names`` (over the whole database, in
        ``TALFeatureDataset``'s order: by ``label_id``, then the names
        without one by name) and ``subset_of`` (video -> subset, all
        videos).
    """
    database = _load_json_object(
        path, 'annotation', 'database',
        '{"database": {video: {"subset", "annotations": [...]}}}')
    for video, info in database.items():
        if not isinstance(info, dict):
            raise EvalInputError(f'{path}: video {video!r} must be an '
                                 f'object, got {type(info).__name__}')
        anns = info.get('annotations') or []
        if not isinstance(anns, list):
            raise EvalInputError(f'{path}: "annotations" of video {video!r} '
                                 'must be a list')
        info['annotations'] = anns
        for i, ann in enumerate(anns):
            if not isinstance(ann, dict):
                raise EvalInputError(f'{path}: annotation {i} of video '
                                     f'{video!r} must be an object')
            label = ann.get('label')
            if not isinstance(label, str):
                raise EvalInputError(f'{path}: annotation {i} of video '
                                     f'{video!r}: "label" must be a class '
                                     f'name, got {label!r}')
            lid = ann.get('label_id')
            if lid is not None and (isinstance(lid, bool)
                                    or not isinstance(lid, int)):
                raise EvalInputError(f'{path}: annotation {i} of video '
                                     f'{video!r}: "label_id" must be an '
                                     f'integer, got {lid!r}')
    # the dataset's class order (by label_id), so that labels map as in
    # training
    try:
        class_names = list(classes_from_database(database))
    except ValueError as exc:
        raise EvalInputError(f'{path}: {exc}') from None
    index = {name: i for i, name in enumerate(class_names)}

    subset_of = {v: str(info.get('subset', '')) for v, info in
                 database.items()}
    wanted = None if not subsets else {s.lower() for s in subsets}
    if wanted is not None:
        present = {s.lower() for s in subset_of.values()}
        missing = wanted - present
        if missing:
            raise EvalInputError(
                f'subset(s) {sorted(missing)} not in {path}; it has '
                f'{sorted(set(subset_of.values()))}')
    ground_truth = {}
    for video, info in database.items():
        if wanted is not None and subset_of[video].lower() not in wanted:
            continue
        segs, labels = [], []
        for i, ann in enumerate(info.get('annotations', [])):
            segs.append(_segment(ann.get('segment'),
                                 f'{path}: annotation {i} of video {video!r}'))
            labels.append(index[ann['label']])
        ground_truth[video] = dict(
            segments=np.asarray(segs, dtype=np.float64).reshape(-1, 2),
            labels=np.asarray(labels, dtype=np.int64))
    return ground_truth, class_names, subset_of


def load_predictions(path: str, class_names: Sequence[str],
                     ground_truth: Dict[str, dict],
                     subset_of: Dict[str, str]) -> Tuple[Dict[str, dict], int]:
    """Read ActivityNet-format results; returns (predictions, number of
    videos skipped because they belong to another subset)."""
    results = _load_json_object(
        path, 'results', 'results',
        '{"results": {video: [{"label", "segment", "score"}]}}')
    index = {name: i for i, name in enumerate(class_names)}
    predictions, skipped = {}, 0
    for video, dets in results.items():
        if video not in subset_of:
            raise EvalInputError(
                f'{path}: prediction for unknown video {video!r} (not in '
                'the annotation file)')
        if video not in ground_truth:
            skipped += 1
            continue
        if not isinstance(dets, list):
            raise EvalInputError(f'{path}: results of video {video!r} must '
                                 'be a list of detections')
        segs, scores, labels = [], [], []
        for i, det in enumerate(dets):
            where = f'{path}: detection {i} of video {video!r}'
            if not isinstance(det, dict):
                raise EvalInputError(f'{where} must be an object')
            label = det.get('label')
            if label not in index:
                raise EvalInputError(
                    f'{where}: unknown label {label!r} (classes of the '
                    f'annotation: {", ".join(class_names)})')
            segs.append(_segment(det.get('segment'), where, prediction=True))
            scores.append(_score(det, where))
            labels.append(index[label])
        predictions[video] = dict(
            segments=np.asarray(segs, dtype=np.float64).reshape(-1, 2),
            scores=np.asarray(scores, dtype=np.float64),
            labels=np.asarray(labels, dtype=np.int64))
    return predictions, skipped


def metrics_to_json(res: dict, class_names: Sequence[str],
                    subset: Optional[Sequence[str]]) -> dict:
    keys = [f'{float(t):g}' for t in res['tiou_thresholds']]

    def by_tiou(values):
        values = np.asarray(values, dtype=np.float64)
        out = {k: float(v) for k, v in zip(keys, values)}
        out['average'] = float(values.mean())
        return out

    has_gt = res['num_gt'] > 0
    return nan_to_none(
        dict(
            subset=list(subset) if subset else None,
            tiou_thresholds=[float(t) for t in res['tiou_thresholds']],
            num_videos=int(res['num_videos']),
            num_ground_truth=int(res['num_gt'].sum()),
            num_predictions=int(res['num_predictions']),
            mAP={k: float(v) for k, v in zip(keys, res['mAP'])},
            average_mAP=float(res['average_mAP']),
            per_class_AP={
                class_names[c]: by_tiou(res['ap'][c])
                for c in range(len(class_names)) if has_gt[c]
            },
            num_ground_truth_per_class={
                class_names[c]: int(res['num_gt'][c])
                for c in range(len(class_names))
            },
            mAP_by_length={
                name: dict(by_tiou(m), num_ground_truth=int(n))
                for name, n, m in zip(res['bucket_names'],
                                      res['bucket_num_gt'], res['bucket_mAP'])
            },
            recall={
                str(k): by_tiou(r)
                for k, r in zip(res['recall_topk'], res['recall'])
            }))


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    ground_truth, class_names, subset_of = load_ground_truth(
        args.gt, args.subset)
    predictions, skipped = load_predictions(args.pred, class_names,
                                            ground_truth, subset_of)
    res = evaluate_detection(
        ground_truth, predictions, len(class_names),
        tiou_thresholds=args.tious,
        length_buckets=(() if args.no_length_buckets else
                        DEFAULT_LENGTH_BUCKETS),
        recall_topk=args.recall_topk)
    if skipped:
        print(f'note: ignored the predictions of {skipped} video(s) of other '
              f'subsets than {args.subset}')
    missing = len(set(ground_truth) - set(predictions))
    if missing:
        print(f'note: {missing} of {len(ground_truth)} ground-truth videos '
              'have no entry in the results (no detections)')
    print(format_detection_report(res, class_names,
                                  per_class=not args.no_per_class))
    out = metrics_to_json(res, class_names, args.subset)
    if args.ar_an:
        records = [dict(video_name=v, gt_segments=gt['segments'],
                        pred_segments=predictions.get(v, {}).get(
                            'segments', np.zeros((0, 2))),
                        pred_scores=predictions.get(v, {}).get(
                            'scores', np.zeros(0)))
                   for v, gt in ground_truth.items()]
        curve, auc = average_recall_at_an(records)
        out['AR@AN'] = {str(n): float(curve[n - 1]) for n in (1, 5, 10, 100)}
        out['AR_AUC'] = auc
        print('AR@AN (class-agnostic, ActivityNet protocol): ' + ', '.join(
            f'AR@{n} {100 * curve[n - 1]:.2f}' for n in (1, 5, 10, 100))
            + f', AUC {auc:.2f}')
    write_json_output(out, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
