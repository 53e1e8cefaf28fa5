"""The uniform baseline built from registered parts: ConvProjection ->
TransformerPyramidNeck -> ActionFormerHead inside TALDetector."""
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import (actionformer_head, baseline_body,  # noqa: E402
                         make_batch)

NUM_LEVELS = 4


def detector_cfg(**head_overrides):
    return dict(type='TALDetector', **baseline_body(NUM_LEVELS),
                head=actionformer_head(**head_overrides))


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
