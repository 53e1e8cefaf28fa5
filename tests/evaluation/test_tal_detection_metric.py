"""TALDetectionMetric built from the registry, fed fake ActionDataSamples."""
import json
import os

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from mmtal_zoom.evaluation.functional import evaluate_detection

CLASSES = ('Jump', 'Throw', 'Run')


def make_sample(name, gt_segs, gt_labels, segs, scores, labels,
                with_gt=True):
    sample = ActionDataSample()
    meta = dict(video_name=name, duration=100.0, fps=30.0)
    if with_gt:
        meta.update(eval_gt_segments=np.asarray(gt_segs, np.float32),
                    eval_gt_labels=np.asarray(gt_labels, np.int64))
    sample.set_metainfo(meta)
    sample.pred_instances = InstanceData(
        segments=torch.tensor(segs, dtype=torch.float32).reshape(-1, 2),
        scores=torch.tensor(scores, dtype=torch.float32),
        labels=torch.tensor(labels, dtype=torch.long))
    return sample


def samples():
    return [
        make_sample('v1', [[1, 2], [10, 16]], [0, 1],
                    [[1, 2], [10, 15], [30, 40]], [0.9, 0.8, 0.7], [0, 1, 2]),
        make_sample('v2', [[5, 8]], [2], [[5, 8.5], [0, 3]], [0.6, 0.5],
                    [2, 0]),
        make_sample('v3', [[0, 20]], [0], [], [], []),  # no detections
    ]


def build(**kwargs):
    metric = METRICS.build(dict(type='TALDetectionMetric', **kwargs))
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def test_metric_keys_values_and_dedup():
    metric = build(recall_topk=(1, 5))
    data = samples()
    metric.process(None, [s.to_dict() for s in data[:2]])  # Evaluator's way
    metric.process(None, [data[2], data[0]])  # objects; v1 again (padding)
    out = metric.evaluate(size=4)
    expected = evaluate_detection(
        {s.video_name: dict(segments=s.eval_gt_segments,
                            labels=s.eval_gt_labels) for s in data},
        {s.video_name: dict(segments=s.pred_instances.segments.numpy(),
                            scores=s.pred_instances.scores.numpy(),
                            labels=s.pred_instances.labels.numpy())
         for s in data}, len(CLASSES), recall_topk=(1, 5))
    assert list(out) == [
        'tal/mAP@0.3', 'tal/mAP@0.4', 'tal/mAP@0.5', 'tal/mAP@0.6',
        'tal/mAP@0.7', 'tal/average_mAP', 'tal/mAP_len<2s', 'tal/mAP_len2-5s',
        'tal/mAP_len5-10s', 'tal/mAP_len>10s', 'tal/recall@1', 'tal/recall@5'
    ]
    assert out['tal/mAP@0.5'] == pytest.approx(expected['mAP'][2])
    assert out['tal/average_mAP'] == pytest.approx(expected['average_mAP'])
    # Jump: v3's 20 s instance is missed (AP 1/2); Throw 1; Run: a higher
    # scored false positive in v1 first (AP 1/2)
    assert out['tal/mAP@0.3'] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert out['tal/mAP_len<2s'] == pytest.approx(1.0)
    assert out['tal/mAP_len>10s'] == pytest.approx(0.0)
    assert out['tal/recall@1'] == pytest.approx(2 / 4)  # v1 GT0, v2 GT0
    assert out['tal/recall@5'] == pytest.approx(3 / 4)
    assert len(metric.results) == 0  # evaluate() resets


def test_metric_through_mmengine_evaluator_and_out_file(tmp_path):
    out_file = tmp_path / 'deep' / 'dir' / 'results.json'
    with DefaultScope.overwrite_default_scope('mmaction'):  # as the Runner
        evaluator = Evaluator(
            dict(type='TALDetectionMetric', out_file=str(out_file),
                 tiou_thresholds=(0.5, ), length_buckets=()))
    evaluator.dataset_meta = dict(classes=CLASSES)
    evaluator.process(data_samples=samples())  # converts with to_dict()
    out = evaluator.evaluate(3)
    assert set(out) == {'tal/mAP@0.5', 'tal/average_mAP', 'tal/recall@1',
                        'tal/recall@5', 'tal/recall@10', 'tal/recall@50',
                        'tal/recall@100'}
    data = json.loads(out_file.read_text())
    assert set(data) == {'version', 'results', 'external_data'}
    assert set(data['results']) == {'v1', 'v2', 'v3'}
    assert data['results']['v3'] == []
    first = data['results']['v1'][0]
    assert first['label'] == 'Jump' and first['segment'] == [1.0, 2.0]
    assert first['score'] == pytest.approx(0.9)
    assert [d['label'] for d in data['results']['v2']] == ['Run', 'Jump']
    assert os.listdir(out_file.parent) == ['results.json']  # no tmp left


def test_missing_fields_name_the_video():
    metric = build()
    bad = make_sample('clip_42', [], [], [[0, 1]], [0.5], [0], with_gt=False)
    with pytest.raises(KeyError, match="clip_42.*eval_gt_segments"):
        metric.process(None, [bad.to_dict()])
    no_pred = ActionDataSample()
    no_pred.set_metainfo(dict(video_name='clip_7'))
    with pytest.raises(KeyError, match="clip_7.*pred_instances"):
        metric.process(None, [no_pred])


def test_label_outside_classes_names_the_video():
    metric = build()
    metric.process(None, [make_sample('v9', [[0, 1]], [0], [[0, 1]], [0.5],
                                      [7])])
    with pytest.raises(ValueError, match="'v9'.*pred_labels"):
        metric.evaluate(1)


def test_bad_arguments():
    with pytest.raises(ValueError, match='tiou'):
        build(tiou_thresholds=(0.5, 2.0))
    with pytest.raises(ValueError, match='empty'):
        build(length_buckets=((5, 2), ))
    with pytest.raises(ValueError, match='.json'):
        build(out_file='results.pkl')


def test_ar_an_equals_mmaction_anet_metric(tmp_path):
    """ar_an=True: class-agnostic AR@AN / AUC equal MMAction2's ANetMetric
    (its own process + compute_metrics) on the same detections."""
    from mmaction.evaluation.metrics import ANetMetric
    rng = np.random.default_rng(3)
    ours = build(ar_an=True, ar_an_report=(1, 5, 10, 50, 100),
                 recall_topk=())
    anet = ANetMetric(metric_type='AR@AN', dump_config=dict(
        out=str(tmp_path / 'anet.json'), output_format='json'))
    for i in range(12):
        dur = float(rng.uniform(40, 120))
        n_gt, k = int(rng.integers(1, 4)), int(rng.integers(0, 150))
        gs = rng.uniform(0, dur - 10, n_gt)
        gt = np.stack([gs, gs + rng.uniform(1, 10, n_gt)], 1)
        ps = rng.uniform(0, dur - 5, k)
        segs = np.stack([ps, ps + rng.uniform(0.5, 12, k)], 1)
        scores, labels = rng.random(k), rng.integers(0, 3, k)
        ours.process(None, [make_sample(
            f'v_{i}', gt, rng.integers(0, 3, n_gt), segs, scores, labels)])
        meta = ActionDataSample()
        meta.set_metainfo(dict(video_name=f'v_{i}', annotations=[
            dict(segment=list(map(float, g)), label='a') for g in gt]))
        anet.process(dict(data_samples=[meta]), [dict(
            video_name=f'v_{i}', proposal_list=[
                dict(segment=[float(s), float(e)], score=float(p))
                for (s, e), p in zip(segs.astype(np.float32), scores)])])
    got = ours.evaluate(size=12)
    ref = anet.compute_metrics(anet.results)
    assert ref['AR@100'] > 0.05 and ref['AR@1'] < ref['AR@100']
    for n in (1, 5, 10, 100):
        assert got[f'tal/AR@{n}'] == pytest.approx(ref[f'AR@{n}'], abs=1e-6)
    assert got['tal/AR_AUC'] == pytest.approx(ref['auc'], abs=1e-6)
    assert 'tal/AR@50' in got and 'tal/mAP@0.5' in got
    # off by default
    default = build()
    default.process(None, samples())
    assert not any(k.startswith('tal/AR') for k in default.evaluate(size=3))
