"""RCL as the second stage of a TwoStageTALDetector on the baseline."""
import torch
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample


def detector_cfg(**roi_kwargs):
    head = dict(
        type='ActionFormerHead', num_classes=3, in_channels=16,
        feat_channels=16,
        prior_generator=dict(
            type='PointGenerator1D', strides=[1, 2, 4, 8],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)]))
    return dict(
        type='TwoStageTALDetector',
        data_preprocessor=dict(type='TALDataPreprocessor', max_seq_len=64,
                               pad_size_divisor=8),
        backbone=dict(type='ConvProjection', in_channels=8, embed_dims=16),
        neck=dict(type='TransformerPyramidNeck', in_channels=16,
                  num_levels=4, num_heads=2, window_size=5, drop_path=0.0),
        head=head,
        roi_head=dict(type='RCLRoIHead',
                      refiner=dict(feat_channels=8, embed_channels=32,
                                   refine=dict(type='RecurrentRefineModule',
                                               hidden_channels=16,
                                               num_iters=2),
                                   num_refine_queries=32), **roi_kwargs),
        train_cfg=dict(num_proposals=32), test_cfg=dict(num_proposals=50))


def make_sample(length, segments, labels, name):
    sample = ActionDataSample()
    sample.gt_instances = InstanceData(
        segments=torch.tensor(segments, dtype=torch.float32),
        labels=torch.tensor(labels, dtype=torch.long))
    sample.set_metainfo(dict(
        video_name=name, duration=length * 4 / 30.0, fps=30.0,
        feat_stride=4, num_frames=16, feat_len=length, feat_offset=0))
    return sample


def make_batch():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(8, 64, generator=g), torch.randn(8, 40, generator=g)]
    feats[0][:3, 10:20] += 3.0
    feats[0][3:6, 40:44] += 3.0
    feats[1][:3, 5:25] += 3.0
    return dict(inputs=feats, data_samples=[
        make_sample(64, [[10, 20], [40, 44]], [0, 1], 'a'),
        make_sample(40, [[5, 25]], [0], 'b')])


def test_losses_of_both_stages_reach_every_parameter():
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg())
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_reg', 'loss_rcl_cls', 'loss_rcl_reg',
            'loss_rcl_offset'} <= set(losses)
    sum(losses.values()).backward()
    no_grad = [n for n, p in model.named_parameters()
               if p.requires_grad and p.grad is None]
    assert not no_grad, no_grad


def test_predict_refines_first_stage_proposals():
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg())
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(15):
        data = model.data_preprocessor(make_batch(), training=True)
        loss = sum(model(**data, mode='loss').values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    data = model.data_preprocessor(make_batch(), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
        feats, masks = model.extract_feat(data['inputs'], data['masks'])
        plain = model.head.predict(feats, masks, data['data_samples'])
    for sample, ref in zip(out, plain):
        pred = sample.pred_instances
        dur = sample.metainfo['duration']
        assert len(pred.scores) > 0
        assert pred.segments.min() >= 0 and pred.segments.max() <= dur
        assert (pred.labels >= 0).all() and (pred.labels < 3).all()
        # the refiner moves boundaries and re-scores: not the first stage's
        same = (pred.segments.shape == ref.segments.shape
                and torch.allclose(pred.segments, ref.segments))
        assert not same


def test_first_stage_proposals_are_its_best_points_detached():
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg())
    data = model.data_preprocessor(make_batch(), training=True)
    feats, masks = model.extract_feat(data['inputs'], data['masks'])
    losses, proposals = model.head.loss_and_predict(
        feats, masks, data['data_samples'], 20)
    assert {'loss_cls', 'loss_reg'} <= set(losses)
    assert [len(p) for p in proposals] == [20, 20]
    for p in proposals:
        assert not p.segments.requires_grad
        best = p.cls_scores.max(-1).values
        assert (best[:-1] >= best[1:]).all()  # ranked
    # the second video is shorter: its padded points are never valid
    assert proposals[0].valid.all()
    outs = model.head(feats, masks)
    again = model.head.predict_proposals(outs, masks, 20)
    assert torch.equal(again[1].segments, proposals[1].segments)


def test_roi_head_defaults_come_from_the_first_stage():
    model = MODELS.build(detector_cfg(refine_level=1))
    assert model.roi_head.stride == 2.0  # strides [1, 2, 4, 8]
    assert model.roi_head.refiner.input_proj[0].in_channels == 16
