"""CLTDRHead's ablation switches (CLTDR-GMG Tables 9-11): which layers each
task combines, the refinement switches and the fusion alternatives change
only the outputs they should."""
import os.path as osp
import sys

import pytest
import torch

from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from cltdr_parts import LEVELS, head_cfg, pyramid  # noqa: E402

MIDDLE = range(1, LEVELS - 1)  # the levels with neighbours on both sides


def _twin_heads(**kw):
    """The default head and a variant with every shared weight copied, so
    that only the switch differs; both in eval mode."""
    torch.manual_seed(0)
    ref = MODELS.build(head_cfg()).eval()
    torch.manual_seed(1)
    alt = MODELS.build(head_cfg(**kw)).eval()
    missing, _ = alt.load_state_dict(ref.state_dict(), strict=False)
    return ref, alt, missing


def _twin_outputs(**kw):
    """The forward outputs of :func:`_twin_heads` on the same pyramid."""
    ref, alt, _ = _twin_heads(**kw)
    feats, masks = pyramid()
    with torch.no_grad():
        return ref(feats, masks), alt(feats, masks)


def _max_diff(a, b, levels=range(LEVELS)):
    return max((a[lvl] - b[lvl]).abs().max().item() for lvl in levels)


# cls_layers rows of Table 9 change the classification feature only
@pytest.mark.parametrize('layers', [[0], [0, -1], [1, 0, -1]])
def test_table9_cls_layers_change_only_classification(layers):
    a, b = _twin_outputs(cls_layers=layers)
    # edge levels have no fusion ('plain')
    assert _max_diff(a[0], b[0], MIDDLE) > 1e-4  # class logits
    for i in (1, 2, 3, 4, 5):  # refinement, Trident: untouched
        assert _max_diff(a[i], b[i]) == 0
    assert _max_diff(a[0], b[0], (0, LEVELS - 1)) == 0


@pytest.mark.parametrize('layers', [[0], [1, 0], [1, 0, -1]])
def test_table9_reg_layers_change_only_regression(layers):
    a, b = _twin_outputs(reg_layers=layers)
    for i in (2, 3, 4):  # Trident offsets and start / end (from f_reg)
        assert _max_diff(a[i], b[i], MIDDLE) > 1e-4
    for i in (0, 1, 5):
        assert _max_diff(a[i], b[i]) == 0


def test_table9_layer_lists_name_the_modules_and_dcm_drm_switches():
    ref, alt, missing = _twin_heads(cls_layers=[1, 0, -1],
                                    reg_layers=[1, 0, -1])
    assert {k.split('.')[0] for k in missing} == {'dcm_lower', 'drm_higher'}
    off = MODELS.build(head_cfg(cls_layers=[0], reg_layers=[0]))
    assert not any(hasattr(off, n) for n in ('dcm', 'drm', 'dcm_lower',
                                             'drm_higher'))
    # use_dcm / use_drm = False are the [0] rows of Table 9
    _, a, _ = _twin_heads(use_dcm=False, use_drm=False)
    _, b, _ = _twin_heads(cls_layers=[0], reg_layers=[0])
    assert a.cls_layers == b.cls_layers == (0, )
    assert a.reg_layers == b.reg_layers == (0, )
    feats, masks = pyramid()
    with torch.no_grad():
        oa, ob = a(feats, masks), b(feats, masks)
    for i in range(6):
        assert _max_diff(oa[i], ob[i]) == 0


def test_table9_two_neighbours_add_their_attended_features():
    """Own design: f = P^l + f_{l+1} W_{l+1} + f_{l-1} W_{l-1}."""
    _, head, _ = _twin_heads(cls_layers=[1, 0, -1])
    feats, masks = pyramid()
    lvl = 1
    with torch.no_grad():
        f = head._fuse(feats[lvl], masks[lvl], head._cls_fusions(),
                       feats[lvl + 1], feats[lvl - 1])
        expected = (feats[lvl]
                    + head.dcm.contribution(feats[lvl], masks[lvl],
                                            feats[lvl + 1])
                    + head.dcm_lower.contribution(feats[lvl], masks[lvl],
                                                  feats[lvl - 1]))
        # one neighbour: exactly Eq. 6
        one = head._fuse(feats[lvl], masks[lvl], head._cls_fusions()[:1],
                         feats[lvl + 1], None)
    torch.testing.assert_close(f, expected)
    torch.testing.assert_close(one, head.dcm(feats[lvl], masks[lvl],
                                             feats[lvl + 1]))


@pytest.mark.parametrize('kw,scores_differ,segments_differ', [
    (dict(refine_cls=False), True, False),
    (dict(refine_reg=False), False, True),
    (dict(refine_cls=False, refine_reg=False), True, True),
])
def test_table10_refine_switches_change_only_their_output(
        kw, scores_differ, segments_differ):
    ref, alt, _ = _twin_heads(**kw)
    feats, masks = pyramid()
    with torch.no_grad():
        sa, ga = ref.decode_by_feat(*ref(feats, masks), masks=masks)
        sb, gb = alt.decode_by_feat(*alt(feats, masks), masks=masks)
    assert (_max_diff(sa, sb) > 1e-4) == scores_differ
    if segments_differ:
        # the refinement offsets start near zero: move them so that the
        # difference does not depend on the initialisation's scale
        with torch.no_grad():
            ref.refine_reg_tower.out_conv.bias.fill_(0.5)
            _, ga = ref.decode_by_feat(*ref(feats, masks), masks=masks)
        assert _max_diff(ga, gb) > 1e-2
    else:
        assert _max_diff(ga, gb) == 0


@pytest.mark.parametrize('fusion', ['add', 'concat'])
def test_table11_fusions_differ_from_attention(fusion):
    a, b = _twin_outputs(fusion=fusion)
    assert _max_diff(a[0], b[0], MIDDLE) > 1e-4
    assert _max_diff(a[2], b[2], MIDDLE) > 1e-4
