"""Temporal action detection metric (ActivityNet / THUMOS protocol)."""
import logging
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmaction.evaluation.functional import average_recall_at_avg_proposals
from mmaction.registry import METRICS
from ...utils import atomic_write_json
from ..functional.detection_map import (DEFAULT_LENGTH_BUCKETS,
                                        DEFAULT_RECALL_TOPK,
                                        DEFAULT_TIOU_THRESHOLDS,
                                        evaluate_detection)

ANET_RESULTS_VERSION = 'VERSION 1.3'

#: ActivityNet proposal protocol: tIoU 0.5:0.05:0.95, up to 100 proposals
#: per video on average (MMAction2's ``ANetMetric`` defaults).
ANET_PROPOSAL_TIOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())


def average_recall_at_an(records: Sequence[dict],
                         max_avg_proposals: int = 100,
                         tiou_thresholds: Sequence[float] = (
                             ANET_PROPOSAL_TIOU_THRESHOLDS)
                         ) -> Tuple[np.ndarray, float]:
    """Class-agnostic AR@AN and AUC of detections by the ActivityNet
    proposal protocol, computed by MMAction2's own
    ``average_recall_at_avg_proposals`` on the inputs ``ANetMetric`` builds:
    every detection of a video is a proposal ``[start, end, score]`` (labels
    dropped, duplicates across classes kept), the ground truth is every
    instance ``[start, end]``.

    Videos without ground truth are left out (``ANetMetric`` cannot take
    them), with their detections (they do not count in the proposal total).

    Args:
        records: per-video dicts with ``pred_segments`` ``(K, 2)``,
            ``pred_scores`` ``(K,)``, ``gt_segments`` ``(N, 2)`` seconds.

    Returns:
        tuple: average recall ``(max_avg_proposals,)`` at AN = 1, 2, ...
        (averaged over ``tiou_thresholds``) and the AUC (in percent, as
        ``ANetMetric``'s ``auc``).
    """
    ground_truth, proposals, total = {}, {}, 0
    for r in records:
        if not len(r['gt_segments']):
            continue
        name = r['video_name']
        ground_truth[name] = np.asarray(r['gt_segments'],
                                        dtype=np.float64).reshape(-1, 2)
        props = np.concatenate([
            np.asarray(r['pred_segments'], np.float64).reshape(-1, 2),
            np.asarray(r['pred_scores'], np.float64).reshape(-1, 1)
        ], axis=1)
        proposals[name] = props
        total += len(props)
    if not ground_truth or total == 0:
        return np.zeros(int(max_avg_proposals)), 0.0
    recall, _, _, auc = average_recall_at_avg_proposals(
        ground_truth, proposals, total,
        max_avg_proposals=max_avg_proposals,
        temporal_iou_thresholds=np.asarray(tiou_thresholds, np.float64))
    return recall.mean(axis=0), float(auc)


def _tiou_key(t: float) -> str:
    return f'{float(t):g}'


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Field of a dict, a data sample (data or metainfo) or InstanceData."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        meta = obj.get('metainfo')
        return meta.get(key, default) if isinstance(meta, dict) else default
    return obj.get(key, default) if hasattr(obj, 'get') else default


def format_detection_report(result: Dict, class_names: Sequence[str],
                            per_class: bool = True) -> str:
    """Readable tables (percentages) of :func:`evaluate_detection`'s result.

    Args:
        result (dict): the output of ``evaluate_detection``.
        class_names (Sequence[str]): names indexed by label.
        per_class (bool): add the per-class AP table.
    """
    thr = result['tiou_thresholds']
    header = ['', '#gt'] + [_tiou_key(t) for t in thr] + ['avg']

    def pct(x):
        return '-' if x is None or np.isnan(x) else f'{100 * x:.2f}'

    def row(name, n, values):
        values = np.asarray(values, dtype=np.float64)
        avg = values.mean() if values.size else float('nan')
        return [name, str(n)] + [pct(v) for v in values] + [pct(avg)]

    def table(title, rows):
        widths = [max(len(r[i]) for r in [header] + rows)
                  for i in range(len(header))]
        lines = [title]
        for r in [header] + rows:
            lines.append('  '.join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths))))
            if r is header:
                lines.append('-' * len(lines[-1]))
        return '\n'.join(lines)

    rows = [row('mAP', int(result['num_gt'].sum()), result['mAP'])]
    for name, n, m in zip(result['bucket_names'], result['bucket_num_gt'],
                          result['bucket_mAP']):
        rows.append(row(f'mAP len {name}', int(n), m))
    for k, rec in zip(result['recall_topk'], result['recall']):
        rows.append(row(f'recall@{k}', int(result['num_gt'].sum()), rec))
    text = table(
        f'Temporal action detection: {result["num_videos"]} videos, '
        f'{result["num_predictions"]} predictions (tIoU thresholds in '
        'columns, %)', rows)
    if per_class:
        rows = [
            row(str(class_names[c]), int(result['num_gt'][c]), result['ap'][c])
            for c in range(len(result['ap']))
        ]
        text += '\n\n' + table('Per-class AP (%)', rows)
    return text


@METRICS.register_module()
class TALDetectionMetric(BaseMetric):
    """mAP of temporal action detection, with its usual breakdowns.

    Consumes the ``ActionDataSample`` of every video (as objects or, the way
    mmengine's ``Evaluator`` passes them, as dicts): ``pred_instances``
    (``segments`` ``(K, 2)`` seconds, ``scores`` ``(K,)``, ``labels``
    ``(K,)``) and the metainfo ``video_name``, ``duration``,
    ``eval_gt_segments`` ``(N, 2)`` seconds and ``eval_gt_labels`` ``(N,)``.
    The ground truth travels in the samples, so it is gathered across
    processes with the predictions (correct under DDP); videos seen twice
    (padding of the distributed sampler) count once.

    The numbers equal ``mmaction.evaluation.functional.
    average_precision_at_temporal_iou`` (see
    :mod:`mmtal_zoom.evaluation.functional.detection_map` for the protocol,
    the length buckets and recall@k conventions). mAP averages the classes
    that have ground truth.

    Returned keys (fractions in ``[0, 1]``; ``prefix/`` prepended):

    * ``mAP@{t}`` for every threshold (``t`` printed with ``:g``, e.g.
      ``mAP@0.5``) and ``average_mAP`` (their mean);
    * ``mAP_len{name}`` per length bucket, averaged over thresholds, with
      ``name`` ``<2s``, ``2-5s``, ``5-10s``, ``>10s`` for the default buckets
      (``lo <= length < hi`` seconds); NaN when no ground truth falls in the
      bucket;
    * ``recall@{k}`` per ``k`` of ``recall_topk`` (top-k predictions per
      video), averaged over thresholds.

    The full tables (per threshold, per class) go to the log.

    Args:
        tiou_thresholds (Sequence[float]): tIoU thresholds.
        length_buckets (Sequence[tuple]): instance-length buckets in seconds;
            ``()`` disables them.
        recall_topk (Sequence[int]): numbers of predictions per video for
            recall@k; ``()`` disables it.
        out_file (str, optional): where to write the predictions as
            ActivityNet-format JSON (``{"version", "results": {video:
            [{"label": class_name, "segment": [s, e], "score": p}]},
            "external_data": {}}``), atomically.
        log_per_class (bool): log the per-class AP table.
        ar_an (bool): also report class-agnostic ``AR@{n}`` for every
            ``n`` in ``ar_an_report`` and ``AR_AUC`` (the area under the
            AR@AN curve, AN = 1..``ar_an_max_proposals``, in percent), by
            the ActivityNet proposal protocol: the numbers of MMAction2's
            ``ANetMetric(metric_type='AR@AN')`` on the same detections
            (see :func:`average_recall_at_an`). Default False (it adds a
            pairwise tIoU pass per video). The whole curve goes to the log.
        ar_an_max_proposals (int): the largest AN. Default 100.
        ar_an_tiou_thresholds (Sequence[float]): default 0.5:0.05:0.95.
        ar_an_report (Sequence[int]): the ANs reported as keys. Default
            ``(1, 5, 10, 100)`` (``ANetMetric``'s keys).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str): key prefix, ``'tal'``.
        collect_dir (str, optional): see ``BaseMetric``.
    """
    default_prefix = 'tal'

    def __init__(self,
                 tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
                 length_buckets: Sequence[Tuple[float, float]] = (
                     DEFAULT_LENGTH_BUCKETS),
                 recall_topk: Sequence[int] = DEFAULT_RECALL_TOPK,
                 out_file: Optional[str] = None,
                 log_per_class: bool = True,
                 ar_an: bool = False,
                 ar_an_max_proposals: int = 100,
                 ar_an_tiou_thresholds: Sequence[float] = (
                     ANET_PROPOSAL_TIOU_THRESHOLDS),
                 ar_an_report: Sequence[int] = (1, 5, 10, 100),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = 'tal',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.tiou_thresholds = tuple(float(t) for t in tiou_thresholds)
        if not self.tiou_thresholds or not all(
                0 <= t <= 1 for t in self.tiou_thresholds):
            raise ValueError('tiou_thresholds must be values in [0, 1], got '
                             f'{tiou_thresholds}')
        self.length_buckets = tuple(
            (float(lo), float(hi)) for lo, hi in (length_buckets or ()))
        for lo, hi in self.length_buckets:
            if not lo < hi:
                raise ValueError(f'length bucket ({lo}, {hi}) is empty')
        self.recall_topk = tuple(int(k) for k in (recall_topk or ()))
        if any(k < 1 for k in self.recall_topk):
            raise ValueError(f'recall_topk must be >= 1, got {recall_topk}')
        if out_file is not None and not str(out_file).endswith('.json'):
            raise ValueError(f'out_file must be a .json file, got {out_file}')
        self.out_file = out_file
        self.log_per_class = log_per_class
        self.ar_an = ar_an
        self.ar_an_max_proposals = int(ar_an_max_proposals)
        self.ar_an_tiou_thresholds = tuple(
            float(t) for t in ar_an_tiou_thresholds)
        self.ar_an_report = tuple(int(n) for n in ar_an_report)
        if ar_an and any(not 1 <= n <= self.ar_an_max_proposals
                         for n in self.ar_an_report):
            raise ValueError(
                f'ar_an_report {ar_an_report} must lie in [1, '
                f'ar_an_max_proposals={self.ar_an_max_proposals}]')

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Store one record per video (numpy, CPU)."""
        for sample in data_samples:
            name = _get(sample, 'video_name')
            if name is None:
                raise KeyError('TALDetectionMetric: a data sample has no '
                               "'video_name' in its metainfo")
            pred = _get(sample, 'pred_instances')
            if pred is None:
                raise KeyError(f'TALDetectionMetric: video {name!r} has no '
                               "'pred_instances' (run the model in "
                               "'predict' mode)")
            record = dict(video_name=str(name),
                          duration=_get(sample, 'duration'))
            for field in ('segments', 'scores', 'labels'):
                value = _get(pred, field)
                if value is None:
                    raise KeyError(f'TALDetectionMetric: pred_instances of '
                                   f'video {name!r} lack {field!r}')
                record[f'pred_{field}'] = _to_numpy(value)
            for field in ('eval_gt_segments', 'eval_gt_labels'):
                value = _get(sample, field)
                if value is None:
                    raise KeyError(
                        f'TALDetectionMetric: video {name!r} has no '
                        f'{field!r} in its metainfo (PackTALInputs sets it)')
                record[field[5:]] = _to_numpy(value)
            k = len(record['pred_scores'])
            segs = record['pred_segments'].reshape(-1, 2) if k else \
                np.zeros((0, 2))
            if segs.shape[0] != k or len(record['pred_labels']) != k:
                raise ValueError(
                    f'TALDetectionMetric: pred_instances of video {name!r} '
                    f'have {segs.shape[0]} segments, {k} scores and '
                    f'{len(record["pred_labels"])} labels')
            record['pred_segments'] = segs.astype(np.float64)
            gt = record['gt_segments']
            record['gt_segments'] = (gt.reshape(-1, 2) if gt.size else
                                     np.zeros((0, 2))).astype(np.float64)
            if len(record['gt_segments']) != len(record['gt_labels']):
                raise ValueError(
                    f'TALDetectionMetric: video {name!r} has '
                    f'{len(record["gt_segments"])} eval_gt_segments but '
                    f'{len(record["gt_labels"])} eval_gt_labels')
            self.results.append(record)

    def _class_names(self, results: List[dict]) -> List[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if classes:
            return [str(c) for c in classes]
        max_label = max([-1] + [
            int(r[k].max()) for r in results for k in ('pred_labels',
                                                       'gt_labels')
            if len(r[k])
        ])
        print_log(
            'TALDetectionMetric: dataset_meta has no "classes"; naming '
            f'classes by their label ids 0..{max_label}', logger='current',
            level=logging.WARNING)
        return [str(i) for i in range(max_label + 1)]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        videos: 'OrderedDict[str, dict]' = OrderedDict()
        for r in results:
            videos.setdefault(r['video_name'], r)  # drop sampler padding
        records = list(videos.values())
        class_names = self._class_names(records)
        num_classes = len(class_names)
        for r in records:
            for k in ('pred_labels', 'gt_labels'):
                lab = r[k]
                if len(lab) and (lab.min() < 0 or lab.max() >= num_classes):
                    raise ValueError(
                        f'TALDetectionMetric: video {r["video_name"]!r} has '
                        f'{k} {sorted(set(lab.tolist()))} outside '
                        f'[0, {num_classes}) ({num_classes} classes)')

        if self.out_file:
            self.dump_results(records, class_names, self.out_file)
            print_log(f'TALDetectionMetric: wrote {len(records)} videos of '
                      f'predictions to {self.out_file}', logger=logger)

        ground_truth = {
            r['video_name']: dict(segments=r['gt_segments'],
                                  labels=r['gt_labels'])
            for r in records
        }
        predictions = {
            r['video_name']: dict(segments=r['pred_segments'],
                                  scores=r['pred_scores'],
                                  labels=r['pred_labels'])
            for r in records
        }
        res = evaluate_detection(
            ground_truth, predictions, num_classes,
            tiou_thresholds=self.tiou_thresholds,
            length_buckets=self.length_buckets,
            recall_topk=self.recall_topk)
        print_log(
            '\n' + format_detection_report(res, class_names,
                                           per_class=self.log_per_class),
            logger=logger)

        metrics: Dict[str, float] = OrderedDict()
        for t, m in zip(self.tiou_thresholds, res['mAP']):
            metrics[f'mAP@{_tiou_key(t)}'] = float(m)
        metrics['average_mAP'] = float(res['average_mAP'])
        for name, m in zip(res['bucket_names'], res['bucket_mAP']):
            metrics[f'mAP_len{name}'] = float(np.mean(m))
        for k, rec in zip(res['recall_topk'], res['recall']):
            metrics[f'recall@{k}'] = float(np.mean(rec))
        if self.ar_an:
            curve, auc = average_recall_at_an(
                records, self.ar_an_max_proposals, self.ar_an_tiou_thresholds)
            for n in self.ar_an_report:
                metrics[f'AR@{n}'] = float(curve[n - 1])
            metrics['AR_AUC'] = auc
            print_log('AR@AN (AN = 1..%d, class-agnostic): %s' % (
                len(curve), ' '.join(f'{x:.4f}' for x in curve)),
                logger=logger)
        return metrics

    @staticmethod
    def dump_results(records: Sequence[dict], class_names: Sequence[str],
                     out_file: str) -> None:
        """Write ActivityNet-format results JSON, atomically."""
        results = {}
        for r in records:
            order = np.argsort(-r['pred_scores'], kind='stable')
            results[r['video_name']] = [
                dict(label=class_names[int(r['pred_labels'][i])],
                     segment=[float(r['pred_segments'][i, 0]),
                              float(r['pred_segments'][i, 1])],
                     score=float(r['pred_scores'][i])) for i in order
            ]
        atomic_write_json(
            dict(version=ANET_RESULTS_VERSION, results=results,
                 external_data={}), out_file, indent=None)


def nan_to_none(value: Any) -> Any:
    """JSON-safe copy: NaN / inf floats become ``None`` (recursively)."""
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value
