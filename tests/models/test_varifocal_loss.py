"""VarifocalLoss (VFNet, CLTDR-GMG Eq. 13)."""
import pytest
import torch

from mmaction.registry import MODELS


def test_varifocal_loss_matches_formula():
    torch.manual_seed(0)
    logits = torch.randn(8, 3)
    target = torch.zeros(8, 3)
    target[0, 1], target[3, 0], target[5, 2] = 0.7, 0.2, 1.0  # IoU targets
    loss = MODELS.build(dict(type='VarifocalLoss', reduction='none'))(
        logits, target)
    p = logits.sigmoid()
    pos = -target * (target * p.log() + (1 - target) * (1 - p).log())
    neg = -0.75 * p.pow(2.0) * (1 - p).log()
    expected = torch.where(target > 0, pos, neg)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_varifocal_iou_weighting_switch():
    logits = torch.tensor([[0.3, -1.0]])
    target = torch.tensor([[0.5, 0.0]])
    weighted = MODELS.build(dict(type='VarifocalLoss', reduction='none'))
    plain = MODELS.build(dict(type='VarifocalLoss', iou_weighted=False,
                              reduction='none'))
    a, b = weighted(logits, target), plain(logits, target)
    # positives: weighted by q = 0.5 or by 1; negatives identical
    assert torch.allclose(a[0, 0], 0.5 * b[0, 0])
    assert torch.allclose(a[0, 1], b[0, 1])


def test_varifocal_prefers_score_equal_to_iou():
    """The IoU-aware target: the loss of a positive is smallest where the
    predicted probability equals its IoU target (not at p = 1)."""
    loss = MODELS.build(dict(type='VarifocalLoss', reduction='none'))
    probs = torch.linspace(0.05, 0.95, 19)
    logits = torch.log(probs / (1 - probs))[:, None]
    values = loss(logits, torch.full_like(logits, 0.6))[:, 0]
    assert abs(probs[values.argmin()].item() - 0.6) < 0.051


def test_varifocal_avg_factor_weight_and_shape_check():
    logits, target = torch.zeros(4, 2), torch.full((4, 2), 0.5)
    vfl = MODELS.build(dict(type='VarifocalLoss', loss_weight=2.0))
    total = MODELS.build(dict(type='VarifocalLoss', reduction='sum',
                              loss_weight=2.0))(logits, target)
    assert torch.allclose(vfl(logits, target, avg_factor=4.0), total / 4)
    weight = torch.zeros(4, 2)
    assert vfl(logits, target, weight=weight, avg_factor=1.0).item() == 0.0
    with pytest.raises(ValueError, match='same shape'):
        vfl(logits, target[:, :1])
