"""Non-negative regression outputs: ``revived_relu`` is a ReLU forward whose
gradient below 0 still raises the output, so a regression channel cannot die
(layers/non_negative.py); ``'relu'`` keeps ActionFormer's zero gradient."""
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS
from mmtal_zoom.models.layers.non_negative import non_negative, revived_relu

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import (actionformer_head, baseline_body,  # noqa: E402
                         make_batch)


def test_forward_is_relu_and_backward_only_raises_below_zero():
    x = torch.tensor([-2.0, -1.0, 0.5, 3.0], requires_grad=True)
    y = revived_relu(x)
    assert torch.equal(y, torch.relu(x.detach()))
    # the loss asks the first two for a larger output, the others for less
    y.backward(torch.tensor([-1.0, 2.0, -3.0, 4.0]))
    assert x.grad.tolist() == [-1.0, 0.0, -3.0, 4.0]
    x.grad = None
    non_negative(x, 'relu').backward(torch.tensor([-1.0, 2.0, -3.0, 4.0]))
    assert x.grad.tolist() == [0.0, 0.0, -3.0, 4.0]
    with pytest.raises(ValueError, match="reg_activation must be one of"):
        non_negative(x, 'softplus')


def _detector(reg_activation):
    return MODELS.build(dict(
        type='TALDetector', **baseline_body(4),
        head=actionformer_head(reg_activation=reg_activation)))


@pytest.mark.parametrize('reg_activation,revives',
                         [('revived_relu', True), ('relu', False)])
def test_a_dead_end_distance_channel_comes_back_only_when_revived(
        reg_activation, revives):
    """The collapse seen on the benchmark family: the end-distance channel
    below 0 at every position. With ActionFormer's ReLU its output conv gets
    no gradient and the loss cannot recover; revived, a few optimiser steps
    bring positive end distances back and the regression loss falls."""
    torch.manual_seed(0)
    model = _detector(reg_activation)
    out_conv = model.head.reg_tower.out_conv
    with torch.no_grad():
        out_conv.bias[1] = -5.0  # dead: end distance 0 everywhere
    batch = make_batch()
    optim = torch.optim.Adam(out_conv.parameters(), lr=0.05)
    reg_losses = []
    for step in range(60):
        data = model.data_preprocessor(batch, training=True)
        loss = model(**data, mode='loss')['loss_reg']
        optim.zero_grad()
        loss.backward()
        if step == 0:
            grad = out_conv.bias.grad[1].item()
            assert (grad < 0) if revives else (grad == 0)
        optim.step()
        reg_losses.append(loss.item())
    model.eval()
    data = model.data_preprocessor(batch, training=False)
    _, reg = model(data['inputs'], masks=data['masks'], mode='tensor')
    end_alive = torch.cat([r[:, 1][m] for r, m in
                           zip(reg, model.extract_feat(
                               data['inputs'], data['masks'])[1])])
    if revives:
        assert (end_alive > 0).float().mean() > 0.5
        assert reg_losses[-1] < 0.7 * reg_losses[0]
    else:
        assert (end_alive == 0).all()


def test_cltdr_head_takes_the_option():
    from cltdr_parts import head_cfg
    head = MODELS.build(head_cfg(reg_activation='relu'))
    assert head.reg_activation == 'relu'
    assert MODELS.build(head_cfg()).reg_activation == 'revived_relu'
    with pytest.raises(ValueError, match="got 'softplus'"):
        MODELS.build(head_cfg(reg_activation='softplus'))  # at build time
