"""Masked (local-window) multi-head self-attention and the transformer block of
ActionFormer (Zhang et al., ECCV 2022), shared by the baseline pyramid and the
ATR backbone.

Written here because mmcv's transformer bricks work on ``(T, B, C)`` /
``(B, T, C)`` without validity masks or local windows, and mmcv-lite has no
compiled attention ops.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .masked_conv import MaskedConv1d
from .norm import LayerNorm1d
from .pooling import masked_max_pool1d
from .scale import DropPath, LayerScale


def local_window_attention(q: Tensor, k: Tensor, v: Tensor, kv_mask: Tensor,
                           window_size: int,
                           q_pos: Optional[Tensor] = None,
                           attn_drop: float = 0.0) -> Tensor:
    """Scaled dot-product attention restricted to a window around each query.

    Query at position ``p`` attends to keys ``p - w//2 ... p + w//2`` that are
    valid. FLOPs and memory grow as ``T * w``:

    * all queries (``q_pos=None``): one pass per window offset over the
      zero-padded keys / values (``w`` element-wise products of ``(B, H, T,
      D)`` tensors, no ``(B, H, T, w, D)`` copy: 4-5x faster than gathering
      windows on CPU, and what ActionFormer's chunked Longformer-style
      attention computes);
    * a subset of queries (``q_pos``): keys are gathered per query
      (``(B, H, Tq, w, D)``), so the cost follows ``Tq``; the ATR backbone
      uses that to run only its active tokens.

    Queries whose whole window is invalid get a zero output.

    Args:
        q (Tensor): ``(B, H, Tq, D)``.
        k, v (Tensor): ``(B, H, T, D)``.
        kv_mask (Tensor): ``(B, T)`` bool, valid keys.
        window_size (int): ``w`` (odd); ``<= 0`` means global attention.
        q_pos (Tensor, optional): ``(B, Tq)`` long positions of the queries
            in ``[0, T)``; default ``arange(T)`` (then ``Tq == T``).
        attn_drop (float): dropout on the attention weights (training).

    Returns:
        Tensor: ``(B, H, Tq, D)``.
    """
    b, h, t, d = k.shape
    tq = q.shape[2]
    scale = 1.0 / math.sqrt(d)
    if window_size <= 0 or window_size >= 2 * t + 1:
        # global attention over the valid keys
        if q_pos is None:
            key_ok = kv_mask[:, None, None, :]  # (B, 1, 1, T)
        else:
            key_ok = kv_mask[:, None, None, :].expand(b, 1, tq, t)
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_ok, dropout_p=attn_drop)
    r = window_size // 2
    if q_pos is None:
        # shifted views of the zero-padded keys: window offset j of query p
        # is key p + j - r
        k_pad = F.pad(k, (0, 0, r, r))
        v_pad = F.pad(v, (0, 0, r, r))
        ok_pad = F.pad(kv_mask, (r, r), value=False)
        logits = torch.stack(
            [(q * k_pad[:, :, j:j + t]).sum(-1) for j in range(window_size)],
            dim=-1) * scale  # (B, H, T, w)
        key_ok = torch.stack(
            [ok_pad[:, j:j + t] for j in range(window_size)], dim=-1)
        logits = logits.masked_fill(~key_ok[:, None],
                                    torch.finfo(q.dtype).min)
        attn = logits.softmax(dim=-1) * key_ok[:, None].to(q.dtype)
        if attn_drop > 0:
            attn = F.dropout(attn, attn_drop)
        out = attn[..., 0, None] * v_pad[:, :, 0:t]
        for j in range(1, window_size):
            out = out + attn[..., j, None] * v_pad[:, :, j:j + t]
        return out
    offsets = torch.arange(-r, r + 1, device=q.device)
    idx = q_pos[..., None] + offsets  # (B, Tq, w)
    in_range = (idx >= 0) & (idx < t)
    idx = idx.clamp(0, t - 1)
    key_ok = in_range & torch.gather(
        kv_mask, 1, idx.flatten(1)).view_as(idx)  # (B, Tq, w)
    flat = idx.flatten(1)[:, None, :, None].expand(b, h, -1, d)
    k_win = torch.gather(k, 2, flat).view(b, h, tq, -1, d)
    v_win = torch.gather(v, 2, flat).view(b, h, tq, -1, d)
    logits = torch.einsum('bhqd,bhqwd->bhqw', q, k_win) * scale
    logits = logits.masked_fill(~key_ok[:, None], torch.finfo(q.dtype).min)
    attn = logits.softmax(dim=-1) * key_ok[:, None].to(q.dtype)
    if attn_drop > 0:
        attn = F.dropout(attn, attn_drop)
    return torch.einsum('bhqw,bhqwd->bhqd', attn, v_win)


class MaskedMultiheadAttention(nn.Module):
    """ActionFormer's (local) masked multi-head convolutional self-attention.

    Queries, keys and values first pass a depth-wise conv (kernel 3, stride
    ``stride``: the block's downsampling) and a LayerNorm, then 1x1
    projections; attention is global or within ``window_size``.

    Args:
        embed_dims (int): ``C``.
        num_heads (int): ``H`` (divides ``C``).
        window_size (int): local window ``w``; ``<= 0`` for global.
        stride (int): 1 or 2 (downsampling of the block).
        attn_drop (float): attention dropout.
        proj_drop (float): output dropout.

    Shapes:
        x ``(B, C, T)``, mask ``(B, T)`` -> ``(B, C, T / stride)``,
        ``(B, T / stride)``.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 window_size: int = -1, stride: int = 1,
                 attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}.')
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.window_size, self.stride = window_size, stride
        self.attn_drop = attn_drop
        kernel = 3  # ActionFormer's depth-wise q/k/v conv
        self.q_conv = MaskedConv1d(embed_dims, embed_dims, kernel, stride,
                                   groups=embed_dims, bias=False)
        self.k_conv = MaskedConv1d(embed_dims, embed_dims, kernel, stride,
                                   groups=embed_dims, bias=False)
        self.v_conv = MaskedConv1d(embed_dims, embed_dims, kernel, stride,
                                   groups=embed_dims, bias=False)
        self.q_norm = LayerNorm1d(embed_dims)
        self.k_norm = LayerNorm1d(embed_dims)
        self.v_norm = LayerNorm1d(embed_dims)
        self.query = nn.Conv1d(embed_dims, embed_dims, 1)
        self.key = nn.Conv1d(embed_dims, embed_dims, 1)
        self.value = nn.Conv1d(embed_dims, embed_dims, 1)
        self.proj = nn.Conv1d(embed_dims, embed_dims, 1)
        self.proj_drop = nn.Dropout(proj_drop)

    def _heads(self, x: Tensor) -> Tensor:
        b, c, t = x.shape
        return x.view(b, self.num_heads, c // self.num_heads,
                      t).transpose(2, 3)  # (B, H, T, D)

    def project_qkv(self, x: Tensor, mask: Tensor
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Depth-wise conv + LN + 1x1 projection of q, k, v.

        Returns ``q, k, v`` as ``(B, H, T', D)`` and the mask ``(B, T')``.
        """
        q, out_mask = self.q_conv(x, mask)
        k, _ = self.k_conv(x, mask)
        v, _ = self.v_conv(x, mask)
        m = out_mask[:, None].to(x.dtype)
        q = self.query(self.q_norm(q) * m)
        k = self.key(self.k_norm(k) * m)
        v = self.value(self.v_norm(v) * m)
        return self._heads(q), self._heads(k), self._heads(v), out_mask

    def output(self, ctx: Tensor) -> Tensor:
        """``(B, H, Tq, D)`` -> projected ``(B, C, Tq)``."""
        b, h, tq, d = ctx.shape
        ctx = ctx.transpose(2, 3).reshape(b, h * d, tq)
        return self.proj_drop(self.proj(ctx))

    def forward(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        q, k, v, out_mask = self.project_qkv(x, mask)
        ctx = local_window_attention(
            q, k, v, out_mask, self.window_size,
            attn_drop=self.attn_drop if self.training else 0.0)
        out = self.output(ctx) * out_mask[:, None].to(x.dtype)
        return out, out_mask


class TransformerBlock1d(nn.Module):
    """Pre-norm transformer block over ``(B, C, T)`` with masks (ActionFormer).

    ``x' = skip(x) + DropPath(s_1 * MHA(LN(x)))``;
    ``y = x' + DropPath(s_2 * MLP(LN(x')))``, where ``skip`` is identity, or
    a masked max-pool (kernel 3, stride 2) when the block downsamples, and
    ``s_1``, ``s_2`` are learnable per-channel scales that start at
    ``layer_scale_init`` (LayerScale, Touvron et al., 2021: ActionFormer's
    ``AffineDropPath`` starts them at 1e-4, so that every block starts close
    to the identity and the pyramid first passes the projected features on).
    The 1x1 projections and the MLP start with zero biases (ActionFormer).

    Args:
        embed_dims (int): ``C``.
        num_heads (int): attention heads.
        window_size (int): local attention window (``<= 0``: global).
        stride (int): 1, or 2 to halve the temporal length.
        mlp_ratio (float): hidden size of the MLP over ``C``.
        attn_drop, proj_drop, drop_path (float): regularisation.
        layer_scale_init (float, optional): initial residual scale; ``None``
            for no scale (the residual branches start at full strength).
    """

    def __init__(self, embed_dims: int, num_heads: int = 4,
                 window_size: int = 19, stride: int = 1,
                 mlp_ratio: float = 4.0, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, drop_path: float = 0.0,
                 layer_scale_init: Optional[float] = 1e-4):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}.')
        self.stride = stride
        self.ln1 = LayerNorm1d(embed_dims)
        self.ln2 = LayerNorm1d(embed_dims)
        self.attn = MaskedMultiheadAttention(
            embed_dims, num_heads, window_size, stride, attn_drop, proj_drop)
        hidden = int(embed_dims * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Conv1d(embed_dims, hidden, 1), nn.GELU(),
            nn.Dropout(proj_drop), nn.Conv1d(hidden, embed_dims, 1),
            nn.Dropout(proj_drop))
        for m in self.modules():
            if isinstance(m, nn.Conv1d) and m.bias is not None:
                nn.init.zeros_(m.bias)
        if layer_scale_init is None:
            self.layer_scale_attn = self.layer_scale_mlp = nn.Identity()
        else:
            self.layer_scale_attn = LayerScale(
                embed_dims, data_format='channels_first',
                scale=layer_scale_init)
            self.layer_scale_mlp = LayerScale(
                embed_dims, data_format='channels_first',
                scale=layer_scale_init)
        self.drop_path_attn = DropPath(drop_path)
        self.drop_path_mlp = DropPath(drop_path)

    def skip(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.stride == 1:
            return x
        return masked_max_pool1d(x, mask, 3, self.stride, 1)[0]

    def attn_residual(self, out: Tensor) -> Tensor:
        """The attention half's residual branch: ``DropPath(s_1 * out)``
        for the attention output ``out`` ``(B, C, T')``."""
        return self.drop_path_attn(self.layer_scale_attn(out))

    def mlp_residual(self, x: Tensor, mask: Tensor) -> Tensor:
        """The MLP half of the block: ``DropPath(s_2 * MLP(LN(x)))``
        (masked)."""
        m = mask[:, None].to(x.dtype)
        return self.drop_path_mlp(
            self.layer_scale_mlp(self.mlp(self.ln2(x) * m) * m))

    def forward(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        m = mask[:, None].to(x.dtype)
        out, out_mask = self.attn(self.ln1(x) * m, mask)
        out = self.skip(x, mask) + self.attn_residual(out)
        out = out + self.mlp_residual(out, out_mask)
        return out * out_mask[:, None].to(out.dtype), out_mask
