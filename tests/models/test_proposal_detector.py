"""Detections from proposals: VideoClassifierFusion (CUHK-style video
classifier scores) and ProposalDetector around BMN-style localizers and
class-agnostic TAL detectors, scored by TALDetectionMetric."""
import json

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmaction.registry import MODELS, TASK_UTILS
from mmaction.structures import ActionDataSample
from mmtal_zoom.evaluation.metrics import TALDetectionMetric
from mmtal_zoom.models.task_modules import (ClassifierFileError,
                                            VideoClassifierFusion)


def _cls_file(tmp_path, results, classes=('Zumba', 'Archery', 'Polo')):
    path = tmp_path / 'cuhk_val_simp_share.json'
    path.write_text(json.dumps({'results': results, 'class': list(classes)}))
    return str(path)


def test_fusion_maths(tmp_path):
    # file order Zumba, Archery, Polo; default label ids: sorted names
    # (Archery 0, Polo 1, Zumba 2)
    fusion = VideoClassifierFusion(
        _cls_file(tmp_path, {'abc': [0.6, 0.1, 0.3]}), topk=2)
    segs = np.array([[1.0, 2.0], [3.0, 5.0]])
    out_segs, out_scores, out_labels = fusion('v_abc', segs, [0.5, 0.9])
    # 2 proposals x top-2 classes (Zumba 0.6, Polo 0.3), sorted by score
    np.testing.assert_allclose(out_scores, [0.54, 0.30, 0.27, 0.15])
    np.testing.assert_array_equal(out_labels, [2, 2, 1, 1])
    np.testing.assert_allclose(out_segs, [[3, 5], [1, 2], [3, 5], [1, 2]])
    assert fusion.class_names == ['Archery', 'Polo', 'Zumba']
    # an explicit class order changes the ids, not the scores
    fusion = VideoClassifierFusion(fusion.cls_file, topk=1,
                                   classes=['Zumba', 'Polo', 'Archery'],
                                   max_per_video=1)
    s, p, lab = fusion('abc', segs, [0.5, 0.9])
    assert p.tolist() == pytest.approx([0.54]) and lab.tolist() == [0]
    # ... or a class-list file
    (tmp_path / 'classes.txt').write_text('# ids\nZumba\nPolo\nArchery\n')
    fusion = VideoClassifierFusion(fusion.cls_file, topk=1,
                                   classes=str(tmp_path / 'classes.txt'))
    assert fusion('abc', segs, [0.5, 0.9])[2].tolist() == [0, 0]
    # ... or the evaluation's annotation file, ordered by its label_id
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'database': {'v': {'annotations': [
        dict(label='Polo', label_id=0), dict(label='Zumba', label_id=2),
        dict(label='Archery', label_id=1)]}}}))
    fusion = VideoClassifierFusion(fusion.cls_file, topk=1,
                                   classes=str(ann))
    assert fusion('abc', segs, [0.5, 0.9])[2].tolist() == [2, 2]
    with pytest.raises(ClassifierFileError, match=r"\['Zumba'\]"):
        VideoClassifierFusion(fusion.cls_file, classes=['Polo', 'Archery'])(
            'abc', segs, [0.5, 0.9])


def test_missing_video_or_bad_file_is_named(tmp_path):
    path = _cls_file(tmp_path, {'abc': [0.6, 0.1, 0.3]})
    fusion = TASK_UTILS.build(dict(type='VideoClassifierFusion',
                                   cls_file=path))
    with pytest.raises(ClassifierFileError) as err:
        fusion('v_missing_1', np.zeros((1, 2)), [1.0])
    msg = str(err.value)
    assert 'v_missing_1' in msg and path in msg and len(msg.splitlines()) == 1
    bad = _cls_file(tmp_path, {'abc': [0.6, 0.1]})
    with pytest.raises(ClassifierFileError, match='video "abc" must be 3'):
        VideoClassifierFusion(bad)('abc', np.zeros((1, 2)), [1.0])


@MODELS.register_module(force=True)
class _FixedProposals(BaseModel):
    """Stands in for BMN: MMAction2's proposal dicts, fixed."""

    def __init__(self, proposals):
        super().__init__()
        self.proposals = proposals
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'predict'
        return [dict(video_name=s.metainfo['video_name'],
                     proposal_list=self.proposals[s.metainfo['video_name']])
                for s in data_samples]


def _bmn_sample(name, annotations, duration=100.0):
    s = ActionDataSample()
    s.set_metainfo(dict(video_name=name, duration_second=duration,
                        duration_frame=int(duration * 30),
                        feature_frame=int(duration * 30) // 16 * 16,
                        annotations=annotations))
    return s


def test_bmn_style_proposals_become_scored_detections(tmp_path):
    cls_file = _cls_file(tmp_path, {'a': [0.9, 0.05, 0.05],
                                    'b': [0.1, 0.8, 0.1]})
    proposals = {
        'v_a': [dict(segment=[10.0, 20.0], score=0.9),
                dict(segment=[50.0, 70.0], score=0.4)],
        'v_b': [dict(segment=[5.0, 15.0], score=0.8)],
    }
    model = MODELS.build(dict(
        type='ProposalDetector',
        localizer=dict(type='_FixedProposals', proposals=proposals),
        fusion=dict(type='VideoClassifierFusion', cls_file=cls_file,
                    topk=2)))
    samples = [
        _bmn_sample('v_a', [dict(segment=[10.0, 20.0], label='Zumba'),
                            dict(segment=[50.0, 70.0], label='Zumba')]),
        _bmn_sample('v_b', [dict(segment=[5.0, 15.0], label='Archery')])]
    preds = model(torch.zeros(2, 4, 8), samples, mode='predict')
    a = preds[0]
    assert a.metainfo['video_name'] == 'v_a'
    np.testing.assert_allclose(a.pred_instances.scores.numpy(),
                               [0.81, 0.36, 0.045, 0.02], rtol=1e-6)
    np.testing.assert_array_equal(a.metainfo['eval_gt_labels'], [2, 2])
    metric = TALDetectionMetric(tiou_thresholds=(0.5, 0.95),
                                length_buckets=(), recall_topk=())
    metric.dataset_meta = dict(classes=('Archery', 'Polo', 'Zumba'))
    metric.process({}, [p.to_dict() for p in preds])
    res = metric.compute_metrics(metric.results)
    # right classes ranked first: every ground truth found, AP 1
    assert res['average_mAP'] == pytest.approx(1.0)
    # the classifier picks the wrong class for v_b: Archery is missed
    cls_file = _cls_file(tmp_path, {'a': [0.9, 0.05, 0.05],
                                    'b': [0.1, 0.05, 0.85]})
    model.fusion = VideoClassifierFusion(cls_file, topk=1)
    metric.results.clear()
    metric.process({}, [p.to_dict() for p in model(
        torch.zeros(2, 4, 8), samples, mode='predict')])
    res = metric.compute_metrics(metric.results)
    assert res['average_mAP'] == pytest.approx(0.5)  # Zumba 1, Archery 0


def test_real_bmn_and_its_checkpoint(tmp_path):
    """MMAction2's BMN inside ProposalDetector: a bare BMN state dict loads,
    and its predictions become detections."""
    bmn = dict(type='BMN', temporal_dim=8, boundary_ratio=0.5,
               num_samples=4, num_samples_per_bin=2, feat_dim=8,
               soft_nms_alpha=0.4, soft_nms_low_threshold=0.5,
               soft_nms_high_threshold=0.9, post_process_top_k=5,
               hidden_dim_1d=8, hidden_dim_2d=8, hidden_dim_3d=8)
    torch.manual_seed(0)
    bare = MODELS.build(bmn)
    model = MODELS.build(dict(
        type='ProposalDetector', localizer=bmn,
        fusion=dict(type='VideoClassifierFusion', topk=2,
                    cls_file=_cls_file(tmp_path, {'x': [0.2, 0.7, 0.1]}))))
    model.load_state_dict(bare.state_dict())
    for k, v in bare.state_dict().items():
        assert torch.equal(model.state_dict()['localizer.' + k], v)
    sample = _bmn_sample('v_x', [dict(segment=[1.0, 4.0], label='Archery')],
                         duration=8.0)
    # the runner's path (ValLoop: no_grad, val_step): the outer model's
    # data preprocessor, then predict
    model.eval()
    with torch.no_grad():
        pred, = model.val_step(dict(inputs=[torch.rand(8, 8)],
                                    data_samples=[sample]))
    inst = pred.pred_instances
    assert len(inst.scores) == 2 * 5  # top_k proposals x 2 classes
    assert set(inst.labels.tolist()) == {0, 2}  # Archery 0.7, Zumba 0.2
    assert (inst.segments[:, 1] <= 8.0 + 1e-6).all()
    metric = TALDetectionMetric(length_buckets=(), recall_topk=())
    metric.dataset_meta = dict(classes=('Archery', 'Polo', 'Zumba'))
    metric.process({}, [pred.to_dict()])
    assert 0.0 <= metric.compute_metrics(metric.results)['average_mAP'] <= 1


@MODELS.register_module(force=True)
class _AgnosticDetector(BaseModel):
    """Stands in for a class-agnostic TALDetector."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.seen_labels = None

    def forward(self, inputs, data_samples=None, mode='tensor', masks=None):
        assert masks is not None
        if mode == 'loss':
            self.seen_labels = [s.gt_instances.labels.tolist()
                                for s in data_samples]
            return dict(loss=self.w.sum())
        for s in data_samples:
            s.pred_instances = InstanceData(
                segments=torch.tensor([[2.0, 6.0]]),
                scores=torch.tensor([0.5]), labels=torch.tensor([0]))
        return list(data_samples)


def test_class_agnostic_detector(tmp_path):
    model = MODELS.build(dict(
        type='ProposalDetector', class_agnostic=True,
        localizer=dict(type='_AgnosticDetector'),
        data_preprocessor=dict(type='TALDataPreprocessor'),
        fusion=dict(type='VideoClassifierFusion', topk=1,
                    cls_file=_cls_file(tmp_path, {'q': [0.1, 0.2, 0.7]}))))
    s = ActionDataSample()
    s.gt_instances = InstanceData(labels=torch.tensor([2, 1]))
    s.set_metainfo(dict(video_name='q', duration=10.0,
                        eval_gt_segments=np.array([[2.0, 6.0]]),
                        eval_gt_labels=np.array([1])))
    masks = torch.ones(1, 8, dtype=torch.bool)
    model(torch.zeros(1, 4, 8), [s], mode='loss', masks=masks)
    assert model.localizer.seen_labels == [[0, 0]]  # trained agnostic
    pred, = model(torch.zeros(1, 4, 8), [s], mode='predict', masks=masks)
    # the dataset's ground truth is kept; the label comes from the file
    np.testing.assert_array_equal(pred.metainfo['eval_gt_labels'], [1])
    assert pred.pred_instances.labels.tolist() == [1]  # Polo: 0.7
    assert pred.pred_instances.scores.tolist() == pytest.approx([0.35])


def test_real_class_agnostic_tal_detector(tmp_path):
    """A real (toy-size) TALDetector made class-agnostic: the head gets one
    class, the loss sees labels 0 through the runner's preprocessing, and
    val_step returns fused detections that TALDetectionMetric scores."""
    localizer = dict(  # ActionFormer parts at toy size, 3 levels
        type='TALDetector',
        data_preprocessor=dict(type='TALDataPreprocessor', max_seq_len=64,
                               pad_size_divisor=4),
        backbone=dict(type='ConvProjection', in_channels=8, embed_dims=16,
                      num_convs=1),
        neck=dict(type='TransformerPyramidNeck', in_channels=16,
                  num_levels=3, num_stem=1, num_heads=2, window_size=5,
                  drop_path=0.0),
        head=dict(type='ActionFormerHead', num_classes=3, in_channels=16,
                  feat_channels=16,
                  prior_generator=dict(
                      type='PointGenerator1D', strides=[1, 2, 4],
                      regression_ranges=[(0, 8), (8, 32), (32, 10000)])))
    model = MODELS.build(dict(
        type='ProposalDetector', localizer=localizer, class_agnostic=True,
        fusion=dict(type='VideoClassifierFusion', topk=2,
                    cls_file=_cls_file(tmp_path, {'r': [0.5, 0.3, 0.2]}))))
    assert model.localizer.head.num_classes == 1

    def sample():
        s = ActionDataSample()
        s.gt_instances = InstanceData(
            segments=torch.tensor([[1.0, 3.0], [4.0, 6.0]]),
            labels=torch.tensor([2, 1]))
        s.set_metainfo(dict(
            video_name='v_r', duration=8.0, fps=30.0, feat_stride=4,
            num_frames=16, feat_len=60, feat_offset=0,
            eval_gt_segments=np.array([[1.0, 3.0], [4.0, 6.0]]),
            eval_gt_labels=np.array([2, 1])))
        return s

    torch.manual_seed(0)
    data = model.data_preprocessor(
        dict(inputs=[torch.randn(8, 60)], data_samples=[sample()]), True)
    losses = model(**data, mode='loss')
    assert data['data_samples'][0].gt_instances.labels.tolist() == [0, 0]
    assert all(torch.isfinite(v).all() for v in losses.values()
               if isinstance(v, torch.Tensor))
    model.eval()
    with torch.no_grad():
        pred, = model.val_step(dict(inputs=[torch.randn(8, 60)],
                                    data_samples=[sample()]))
    labels = set(pred.pred_instances.labels.tolist())
    # the file's top 2: Zumba 0.5, Archery 0.3 (sorted ids 2, 0)
    assert labels == {0, 2}
    metric = TALDetectionMetric(tiou_thresholds=(0.5, ), length_buckets=(),
                                recall_topk=())
    metric.dataset_meta = dict(classes=('Archery', 'Polo', 'Zumba'))
    metric.process({}, [pred.to_dict()])
    assert 0.0 <= metric.compute_metrics(metric.results)['average_mAP'] <= 1
