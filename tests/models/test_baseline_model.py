"""The uniform baseline built from registered parts: ConvProjection ->
TransformerPyramidNeck -> ActionFormerHead inside TALDetector."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

NUM_LEVELS = 4


def detector_cfg(**head_overrides):
    head = dict(
        type='ActionFormerHead', num_classes=3, in_channels=16,
        feat_channels=16,
        prior_generator=dict(
            type='PointGenerator1D', strides=[1, 2, 4, 8],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)]))
    head.update(head_overrides)
    return dict(
        type='TALDetector',
        data_preprocessor=dict(type='TALDataPreprocessor', max_seq_len=64,
                               pad_size_divisor=8),
        backbone=dict(type='ConvProjection', in_channels=8, embed_dims=16),
        neck=dict(type='TransformerPyramidNeck', in_channels=16,
                  num_levels=NUM_LEVELS, num_heads=2, window_size=5,
                  drop_path=0.0),
        head=head)


def make_sample(length, segments, labels, name='v'):
    sample = ActionDataSample()
    sample.gt_instances = InstanceData(
        segments=torch.tensor(segments, dtype=torch.float32),
        labels=torch.tensor(labels, dtype=torch.long))
    sample.set_metainfo(dict(
        video_name=name, duration=length * 4 / 30.0, fps=30.0,
        feat_stride=4, num_frames=16, feat_len=length, feat_offset=0))
    return sample


def make_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(8, 64, generator=g), torch.randn(8, 40, generator=g)]
    # make the action regions separable
    feats[0][:3, 10:20] += 3.0
    feats[0][3:6, 40:44] += 3.0
    feats[1][:3, 5:25] += 3.0
    samples = [make_sample(64, [[10, 20], [40, 44]], [0, 1], 'a'),
               make_sample(40, [[5, 25]], [0], 'b')]
    return dict(inputs=feats, data_samples=samples)


def test_levels_shapes_and_masks():
    model = MODELS.build(detector_cfg())
    data = model.data_preprocessor(make_batch(), training=False)
    feats, masks = model.extract_feat(data['inputs'], data['masks'])
    assert [f.shape for f in feats] == [(2, 16, 64 // 2**i)
                                        for i in range(NUM_LEVELS)]
    assert masks[0][1].sum() == 40 and masks[1][1].sum() == 20
    cls, reg = model(data['inputs'], masks=data['masks'], mode='tensor')
    assert [c.shape for c in cls] == [(2, 3, 64 // 2**i)
                                      for i in range(NUM_LEVELS)]
    assert all((r >= 0).all() for r in reg)


def test_training_reduces_loss_and_reaches_every_parameter():
    torch.manual_seed(0)
    model = MODELS.build(detector_cfg())
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batch = make_batch()
    losses = []
    for step in range(40):
        data = model.data_preprocessor(batch, training=True)
        out = model(**data, mode='loss')
        assert set(out) == {'loss_cls', 'loss_reg'}
        loss = sum(out.values())
        optim.zero_grad()
        loss.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters()
                       if p.requires_grad and p.grad is None]
            assert not missing, missing
        optim.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5


def test_predict_returns_seconds_within_duration():
    model = MODELS.build(detector_cfg()).eval()
    data = model.data_preprocessor(make_batch(), training=False)
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert len(results) == 2
    for sample in results:
        pred = sample.pred_instances
        assert pred.segments.ndim == 2 and pred.segments.shape[1] == 2
        assert len(pred.scores) == len(pred.labels) == len(pred.segments)
        dur = sample.metainfo['duration']
        assert (pred.segments >= 0).all() and (pred.segments <= dur).all()
        assert (pred.segments[:, 1] >= pred.segments[:, 0]).all()
        assert pred.labels.max() < 3


def test_empty_classes_are_never_predicted_at_init():
    model = MODELS.build(detector_cfg(empty_cls=[2])).eval()
    data = model.data_preprocessor(make_batch(), training=False)
    with torch.no_grad():
        cls, _ = model(data['inputs'], masks=data['masks'], mode='tensor')
    feats, masks = model.extract_feat(data['inputs'], data['masks'])
    for c, m in zip(cls, masks):
        probs = c.sigmoid().transpose(1, 2)[m]  # valid points only
        # the prior of the other classes is 0.01; an empty class starts at
        # 1e-6
        assert probs[:, 2].max() < 1e-3
        assert probs[:, 0].mean() > 1e-3


def test_wrong_input_dim_names_the_fix():
    model = MODELS.build(detector_cfg())
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(1, 5, 16), mode='tensor')


def test_head_level_mismatch_is_clear():
    cfg = detector_cfg()
    cfg['neck']['num_levels'] = 3
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match='levels'):
        model(torch.randn(1, 8, 16), mode='tensor')
