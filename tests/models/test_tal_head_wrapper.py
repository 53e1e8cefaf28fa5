"""TALHeadWrapper: one contract for the BDR and distillation wrappers."""
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from test_bdr_head import base_head, batch, detector  # noqa: E402

from mmtal_zoom.models.heads import TALHeadWrapper  # noqa: E402


def wrappers():
    return {
        'BDRRefinedHead': dict(type='BDRRefinedHead', base_head=base_head(),
                               bdr=dict(type='BDRHead', in_channels=16,
                                        feat_channels=16)),
        'DistillationHead': dict(type='DistillationHead',
                                 student=base_head()),
    }


@pytest.mark.parametrize('name', sorted(wrappers()))
def test_wrappers_share_one_contract(name):
    head = MODELS.build(wrappers()[name])
    assert isinstance(head, TALHeadWrapper)
    inner = head.inner_head
    assert head.num_classes == inner.num_classes
    assert head.prior_generator is inner.prior_generator
    assert head.test_cfg is inner.test_cfg
    assert not hasattr(head, 'base_head') and not hasattr(head, 'student')
    # the inner head's weights live under 'inner_head.'
    assert any(k.startswith('inner_head.') for k in head.state_dict())


@pytest.mark.parametrize('name,old', [('BDRRefinedHead', 'base_head'),
                                      ('DistillationHead', 'student')])
def test_checkpoints_of_the_old_attribute_names_load(name, old):
    torch.manual_seed(0)
    src = MODELS.build(wrappers()[name])
    legacy = {(old + k[len('inner_head'):]
               if k.startswith('inner_head.') else k): v + 1.0
              for k, v in src.state_dict().items()}
    torch.manual_seed(1)
    dst = MODELS.build(wrappers()[name])
    dst.load_state_dict(legacy)  # strict: every key mapped
    for k, v in dst.state_dict().items():
        assert torch.equal(v, src.state_dict()[k] + 1.0), k


def test_a_wrapper_of_something_else_is_refused():
    with pytest.raises(TypeError, match='wraps a BaseTALHead'):
        MODELS.build(dict(type='DistillationHead',
                          student=dict(type='BDRHead', in_channels=16,
                                       feat_channels=16)))


def test_distillation_predicts_exactly_as_its_student():
    torch.manual_seed(0)
    student = detector(base_head()).eval()
    wrapped = detector(dict(type='DistillationHead',
                            student=base_head())).eval()
    wrapped.load_state_dict({
        ('head.inner_head.' + k[5:] if k.startswith('head.') else k): v
        for k, v in student.state_dict().items()})
    data = student.data_preprocessor(batch(), training=False)
    with torch.no_grad():
        a = student(**data, mode='predict')
        b = wrapped(**data, mode='predict')
    for x, y in zip(a, b):
        assert len(x.pred_instances.scores) > 0
        assert torch.equal(x.pred_instances.segments,
                           y.pred_instances.segments)
        assert torch.equal(x.pred_instances.scores, y.pred_instances.scores)
