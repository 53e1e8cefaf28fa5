"""RCL as the second stage of a TwoStageTALDetector on the baseline."""
import os.path as osp
import sys

import torch

from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import (actionformer_head, baseline_body,  # noqa: E402
                         make_batch)


def detector_cfg(**roi_kwargs):
    return dict(
        type='TwoStageTALDetector', **baseline_body(),
        head=actionformer_head(),
        roi_head=dict(type='RCLRoIHead',
                      refiner=dict(feat_channels=8, embed_channels=32,
                                   refine=dict(type='RecurrentRefineModule',
                                               hidden_channels=16,
                                               num_iters=2),
                                   num_refine_queries=32), **roi_kwargs),
        train_cfg=dict(num_proposals=32), test_cfg=dict(num_proposals=50))


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
