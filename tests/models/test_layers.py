"""Shared layers: masked conv, local attention, transformer block."""
import math

import pytest
import torch

from mmtal_zoom.models.layers import (LayerNorm1d, MaskedConv1d,
                                      TransformerBlock1d,
                                      local_window_attention,
                                      masked_max_pool1d)


def dense_band_attention(q, k, v, kv_mask, window):
    """Reference: full attention with a band + validity mask."""
    t = k.shape[2]
    pos = torch.arange(t)
    band = (pos[:, None] - pos[None, :]).abs() <= window // 2
    ok = band[None, None] & kv_mask[:, None, None, :]
    logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    logits = logits.masked_fill(~ok, float('-inf'))
    return logits.softmax(-1) @ v


@pytest.mark.parametrize('window', [1, 3, 9, 41])
def test_local_attention_matches_dense_band_reference(window):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 20, 8) for _ in range(3))
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 13:] = False
    out = local_window_attention(q, k, v, mask, window)
    ref = dense_band_attention(q, k, v, mask, window)
    assert torch.allclose(out[0], ref[0], atol=1e-5)
    assert torch.allclose(out[1, :, :13], ref[1, :, :13], atol=1e-5)


def test_local_attention_on_query_subset_equals_full_rows():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 16, 4) for _ in range(3))
    mask = torch.ones(2, 16, dtype=torch.bool)
    full = local_window_attention(q, k, v, mask, 5)
    pos = torch.tensor([[0, 7, 15], [3, 4, 9]])
    sub_q = torch.stack([q[b, :, pos[b]] for b in range(2)])
    sub = local_window_attention(sub_q, k, v, mask, 5, q_pos=pos)
    ref = torch.stack([full[b, :, pos[b]] for b in range(2)])
    assert torch.allclose(sub, ref, atol=1e-6)


def test_global_attention_ignores_padded_keys():
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 1, 10, 4) for _ in range(3))
    mask = torch.ones(1, 10, dtype=torch.bool)
    mask[:, 6:] = False
    out = local_window_attention(q, k, v, mask, -1)
    ref = local_window_attention(q[:, :, :6], k[:, :, :6], v[:, :, :6],
                                 mask[:, :6], -1)
    assert torch.allclose(out[:, :, :6], ref, atol=1e-6)


def test_masked_conv_and_pool_ignore_padding():
    torch.manual_seed(0)
    conv = MaskedConv1d(4, 6, 3, stride=2)
    x = torch.randn(1, 4, 16)
    mask = torch.ones(1, 16, dtype=torch.bool)
    padded = torch.cat([x, 100 * torch.randn(1, 4, 16)], dim=-1)
    pmask = torch.cat([mask, torch.zeros(1, 16, dtype=torch.bool)], dim=-1)
    a, am = conv(x, mask)
    b, bm = conv(padded, pmask)
    assert torch.allclose(a, b[..., :8], atol=1e-6)
    assert bm[0, :8].all() and not bm[0, 8:].any()
    assert (b[..., 8:] == 0).all()
    pa, _ = masked_max_pool1d(-x.abs(), mask)
    pb, _ = masked_max_pool1d(-padded.abs(), pmask)
    assert torch.allclose(pa, pb[..., :8])


@pytest.mark.parametrize('stride', [1, 2])
def test_transformer_block_is_invariant_to_padding(stride):
    torch.manual_seed(0)
    blk = TransformerBlock1d(16, num_heads=4, window_size=5,
                             stride=stride).eval()
    x = torch.randn(1, 16, 24)
    mask = torch.ones(1, 24, dtype=torch.bool)
    padded = torch.cat([x, torch.randn(1, 16, 8)], dim=-1)
    pmask = torch.cat([mask, torch.zeros(1, 8, dtype=torch.bool)], dim=-1)
    a, _ = blk(x, mask)
    b, bm = blk(padded, pmask)
    t = a.shape[-1]
    assert t == 24 // stride
    assert torch.allclose(a, b[..., :t], atol=1e-5)
    assert (b[..., t:] == 0).all() and not bm[0, t:].any()


def test_layer_norm_matches_torch():
    x = torch.randn(2, 8, 5)
    ln = LayerNorm1d(8)
    ref = torch.nn.functional.layer_norm(x.transpose(1, 2), (8, ))
    assert torch.allclose(ln(x), ref.transpose(1, 2), atol=1e-5)


def test_block_rejects_bad_stride_and_heads():
    with pytest.raises(ValueError, match='stride'):
        TransformerBlock1d(16, stride=3)
    with pytest.raises(ValueError, match='divisible'):
        TransformerBlock1d(10, num_heads=4)
