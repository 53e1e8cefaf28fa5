"""GMGNeck, GMGBlock and the FFT global filter (CLTDR-GMG Eq. 1-4)."""
import pytest
import torch
import torch.nn.functional as F

from mmaction.registry import MODELS
from mmtal_zoom.models.layers import GlobalFilter, GMGBlock, MaskedGroupNorm

C = 16


def neck_cfg(**kw):
    cfg = dict(type='GMGNeck', in_channels=C, num_levels=4, num_stem=1,
               ffn_dims=24, num_groups=4)
    cfg.update(kw)
    return cfg


def prefix_mask(lengths, t):
    return torch.arange(t)[None] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize('t', [64, 37, 97])
def test_shapes_per_level_any_length(t):
    neck = MODELS.build(neck_cfg())
    x = torch.randn(2, C, t)
    mask = prefix_mask([t, t // 2], t)
    feats, masks = neck((x, ), (mask, ))
    assert len(feats) == len(masks) == 4
    for lvl, (f, m) in enumerate(zip(feats, masks)):
        length = -(-t // 2**lvl)  # ceil: position i sits on input i * 2^l
        assert f.shape == (2, C, length) and m.shape == (2, length)
        assert m[0].all()
        assert int(m[1].sum()) == -(-(t // 2) // 2**lvl)
        assert (f[~m[:, None].expand_as(f)] == 0).all()  # padding stays 0


def test_input_projection_and_errors():
    neck = MODELS.build(neck_cfg(in_channels=8, embed_dims=C))
    feats, _ = neck((torch.randn(1, 8, 20), ), (torch.ones(1, 20).bool(), ))
    assert feats[0].shape == (1, C, 20)
    with pytest.raises(ValueError, match='8-d'):
        neck((torch.randn(1, 5, 20), ), (torch.ones(1, 20).bool(), ))
    with pytest.raises(ValueError, match='one level'):
        neck((torch.randn(1, 8, 20), ) * 2, (torch.ones(1, 20).bool(), ) * 2)
    bad = torch.ones(1, 20, dtype=torch.bool)
    bad[0, 3] = False  # a hole is not a prefix mask
    with pytest.raises(ValueError, match='prefix'):
        neck((torch.randn(1, 8, 20), ), (bad, ))


VARIANTS = [
    dict(),
    dict(global_filter=dict(filter_type='mlp')),
    dict(global_mixer='attention'),
    dict(gate='official', instant_depthwise=True, layer_scale_init=0.5),
    dict(gate='none', use_local=False),
]


@pytest.mark.parametrize('kw', VARIANTS)
def test_padding_never_changes_valid_outputs(kw):
    """One video alone vs. padded in a batch with a longer one."""
    torch.manual_seed(0)
    neck = MODELS.build(neck_cfg(**kw)).eval()
    short, long = torch.randn(1, C, 23), torch.randn(1, C, 50)
    batch = torch.zeros(2, C, 50)
    batch[0, :, :23], batch[1] = short[0], long[0]
    mask = prefix_mask([23, 50], 50)
    with torch.no_grad():
        alone, alone_masks = neck((short, ), (torch.ones(1, 23).bool(), ))
        padded, padded_masks = neck((batch, ), (mask, ))
        long_alone, _ = neck((long, ), (torch.ones(1, 50).bool(), ))
    for a, am, p, pm, la in zip(alone, alone_masks, padded, padded_masks,
                                long_alone):
        n = a.shape[-1]
        assert int(pm[0].sum()) == n and am.all()
        torch.testing.assert_close(p[0, :, :n], a[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(p[1], la[0], atol=1e-5, rtol=0)


def test_global_filter_is_global_and_local_conv_is_not():
    """A change at the first position reaches the last one through the FFT
    branch (a kernel as long as the sequence), not through a kernel-3 conv."""
    torch.manual_seed(0)
    filt = GlobalFilter(C, filter_type='conv', kernel_size=3)
    conv = torch.nn.Conv1d(C, C, 3, padding=1, groups=C)
    x = torch.randn(1, C, 41)
    y = x.clone()
    y[..., 0] += 5.0
    mask = torch.ones(1, 41, dtype=torch.bool)
    with torch.no_grad():
        assert (filt(x, mask) - filt(y, mask))[..., -1].abs().max() > 1e-4
        assert (conv(x) - conv(y))[..., -1].abs().max() == 0


def test_global_filter_matches_its_equations():
    """'conv' with identity-like spectral convs = the Hadamard filter of
    Eq. 2-3 with W = ReLU(X_f) done by hand; padding is ignored."""
    filt = GlobalFilter(2, filter_type='conv', kernel_size=1)
    with torch.no_grad():
        for conv in (filt.conv1, filt.conv2):
            conv.weight.copy_(torch.eye(2).repeat(2, 1)[:, :, None])
            conv.bias.zero_()
    x = torch.randn(1, 2, 13)
    spec = torch.fft.rfft(x, dim=-1, norm='ortho')
    w = torch.complex(F.relu(spec.real), F.relu(spec.imag))
    expected = torch.fft.irfft(spec * w, n=13, dim=-1, norm='ortho')
    padded = F.pad(x, (0, 7))
    mask = prefix_mask([13], 20)
    out = filt(padded, mask)
    torch.testing.assert_close(out[..., :13], expected, atol=1e-5, rtol=0)
    assert (out[..., 13:] == 0).all()


def test_official_filter_softshrink_zeroes_small_filters():
    filt = GlobalFilter(4, filter_type='mlp', sparsity_threshold=1e3)
    out = filt(torch.randn(2, 4, 10), torch.ones(2, 10, dtype=torch.bool))
    assert (out == 0).all()


@pytest.mark.parametrize('filter_type', ['conv', 'mlp'])
def test_identity_init_starts_near_the_all_pass_filter(filter_type):
    """The official N(0, 0.02) start gives f_global ~ 0, which shuts Eq. 4's
    gates; identity_init starts at f_global ~ h, with the gates open."""
    torch.manual_seed(0)
    x = torch.randn(2, C, 40)
    mask = torch.ones(2, 40, dtype=torch.bool)
    kwargs = dict(filter_type=filter_type, sparsity_threshold=0.0)
    with torch.no_grad():
        near_zero = GlobalFilter(C, **kwargs)(x, mask)
        all_pass = GlobalFilter(C, identity_init=True, **kwargs)(x, mask)
    assert near_zero.norm() < 0.05 * x.norm()
    assert (all_pass - x).norm() < 0.1 * x.norm()


class _Const(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, *args):
        return self.value


def _stub_block(gate, **kw):
    """A GMGBlock whose branches return fixed tensors I, L, G."""
    block = GMGBlock(4, num_groups=2, gate=gate, **kw)
    torch.manual_seed(1)
    vals = {n: torch.randn(1, 4, 6) for n in ('instant', 'local', 'global')}
    if block.use_instant:
        block.instant = _Const(vals['instant'])
    if block.use_local:
        block.local = _Const(vals['local'])
    if block.use_global:
        block.global_branch = _Const(vals['global'])
    return block, vals


def test_paper_gate_is_eq4():
    block, v = _stub_block('paper')
    h, mask = torch.randn(1, 4, 6), torch.ones(1, 6, dtype=torch.bool)
    i, lc, g = v['instant'], v['local'], v['global']
    f_local = F.relu(g) * lc + g  # Eq. 4's underbrace
    expected = F.relu(f_local) * i + f_local
    torch.testing.assert_close(block.mix(h, mask), expected)
    # the flat reading gates the instant branch by ReLU(Conv(x)) alone; the
    # two differ wherever ReLU(f_local) != ReLU(Lc)
    flat, _ = _stub_block('flat')
    flat_out = flat.mix(h, mask)
    torch.testing.assert_close(flat_out, F.relu(lc) * i + F.relu(g) * lc + g)
    diff = (flat_out - expected).abs()
    assert diff.max() > 0.1
    same = (F.relu(f_local) - F.relu(lc)).abs() < 1e-6
    torch.testing.assert_close(diff[same], torch.zeros_like(diff[same]))


def test_official_and_no_gate_and_branch_switches():
    h, mask = torch.randn(1, 4, 6), torch.ones(1, 6, dtype=torch.bool)
    block, v = _stub_block('official')
    i, lc, g = v['instant'], v['local'], v['global']
    torch.testing.assert_close(block.mix(h, mask),
                               h + g + lc * g + i * lc * g)
    block, v = _stub_block('none')
    torch.testing.assert_close(block.mix(h, mask), i + lc + g)
    # local off: instant is gated by the next coarser enabled branch
    block, v = _stub_block('paper', use_local=False)
    torch.testing.assert_close(block.mix(h, mask),
                               F.relu(g) * i + g)
    block, v = _stub_block('paper', use_global=False)
    torch.testing.assert_close(block.mix(h, mask), F.relu(lc) * i + lc)
    block, v = _stub_block('flat', use_local=False)
    torch.testing.assert_close(block.mix(h, mask), F.relu(g) * i + g)
    block, v = _stub_block('paper', use_local=False, use_global=False)
    torch.testing.assert_close(block.mix(h, mask), i)
    assert not hasattr(block, 'local') and not hasattr(block, 'global_branch')
    with pytest.raises(ValueError, match='at least one'):
        GMGBlock(4, num_groups=2, use_instant=False, use_local=False,
                 use_global=False)
    with pytest.raises(ValueError, match='gate'):
        GMGBlock(4, num_groups=2, gate='sigmoid')


@pytest.mark.parametrize('kw', [
    dict(use_instant=False), dict(use_local=False), dict(use_global=False),
    dict(gate='none'), dict(global_mixer='attention'),
])
def test_each_toggle_changes_the_network(kw):
    torch.manual_seed(0)
    ref = MODELS.build(neck_cfg()).eval()
    torch.manual_seed(0)
    alt = MODELS.build(neck_cfg(**kw)).eval()
    # copy every shared weight so that only the toggle differs
    alt.load_state_dict(ref.state_dict(), strict=False)
    x, mask = torch.randn(1, C, 32), torch.ones(1, 32, dtype=torch.bool)
    with torch.no_grad():
        a, _ = ref((x, ), (mask, ))
        b, _ = alt((x, ), (mask, ))
    assert (a[0] - b[0]).abs().max() > 1e-4
    n_ref = sum(p.numel() for p in ref.parameters())
    n_alt = sum(p.numel() for p in alt.parameters())
    if kw.get('global_mixer') == 'attention':
        assert n_alt > n_ref  # Table 8: attention has more parameters
    elif 'gate' not in kw:
        assert n_alt < n_ref


def test_masked_group_norm_equals_group_norm_without_padding():
    gn = MaskedGroupNorm(4, C)
    x = torch.randn(2, C, 9)
    ref = torch.nn.functional.group_norm(x, 4, gn.weight, gn.bias, gn.eps)
    torch.testing.assert_close(gn(x, torch.ones(2, 9, dtype=torch.bool)),
                               ref, atol=1e-5, rtol=0)


def test_gradients_reach_every_neck_parameter():
    torch.manual_seed(0)
    for kw in (dict(), dict(global_filter=dict(filter_type='mlp'),
                            gate='official', layer_scale_init=1e-2),
               dict(global_mixer='attention')):
        neck = MODELS.build(neck_cfg(**kw))
        x = torch.randn(2, C, 40)
        feats, masks = neck((x, ), (prefix_mask([40, 29], 40), ))
        sum((f * torch.randn_like(f)).sum() for f in feats).backward()
        for name, p in neck.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
