"""Focal and 1-D IoU losses."""
import pytest
import torch

from mmaction.registry import MODELS


def test_focal_loss_matches_formula():
    torch.manual_seed(0)
    logits, target = torch.randn(6, 3), torch.randint(0, 2, (6, 3)).float()
    loss = MODELS.build(dict(type='SigmoidFocalLoss', reduction='none'))(
        logits, target)
    p = logits.sigmoid()
    p_t = torch.where(target > 0, p, 1 - p)
    alpha_t = torch.where(target > 0, 0.25, 0.75)
    assert torch.allclose(loss, -alpha_t * (1 - p_t)**2 * p_t.log(),
                          atol=1e-6)


def test_focal_loss_avg_factor():
    logits, target = torch.zeros(4, 2), torch.ones(4, 2)
    fl = MODELS.build(dict(type='SigmoidFocalLoss'))
    total = MODELS.build(dict(type='SigmoidFocalLoss', reduction='sum'))(
        logits, target)
    assert torch.allclose(fl(logits, target, avg_factor=2.0), total / 2)


@pytest.mark.parametrize('mode', ['iou', 'giou', 'diou'])
def test_iou_losses_zero_at_perfect_and_ordered(mode):
    loss = MODELS.build(dict(type='IoU1DLoss', mode=mode, reduction='none'))
    target = torch.tensor([[2.0, 3.0]])
    assert loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
    near, far = torch.tensor([[2.0, 2.5]]), torch.tensor([[0.5, 1.0]])
    assert loss(near, target).item() < loss(far, target).item()


def test_diou_penalises_centre_shift_at_equal_iou():
    loss = MODELS.build(dict(type='IoU1DLoss', mode='diou', reduction='none'))
    target = torch.tensor([[2.0, 2.0]])  # segment [-2, 2] around the point
    shifted = torch.tensor([[1.0, 3.0]])  # same length, centre +1
    iou_only = MODELS.build(dict(type='IoU1DLoss', mode='iou',
                                 reduction='none'))
    assert loss(shifted, target) > iou_only(shifted, target)


def test_iou_loss_rejects_unknown_mode():
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(dict(type='IoU1DLoss', mode='ciou'))
