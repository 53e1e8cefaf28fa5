"""Gated Multi-Granularity (GMG) block of CLTDR-GMG (Li et al., AAAI 2025,
Sec. "Encoder with GMG", Eq. 1-4, Fig. 3).

Three temporal granularities of the (LayerNorm-ed) input ``h``:

* instant: ``FC(h)`` (per position),
* local: ``Conv(h)``, a depth-wise temporal convolution,
* global: ``f_global = IFFT(FFT(h) * W_phi)`` (:class:`GlobalFilter`), or,
  for the paper's Table 8 comparison, vanilla multi-head self-attention over
  the whole sequence (:class:`GlobalSelfAttention`),

fused by ReLU gates (Eq. 4), then GroupNorm + FFN, both with residuals.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .global_filter import GlobalFilter
from .norm import LayerNorm1d
from .scale import DropPath
from .transformer import local_window_attention

GATES = ('paper', 'flat', 'official', 'none')
GLOBAL_MIXERS = ('fft', 'attention')


class MaskedGroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` whose statistics use valid positions only.

    Written here because ``nn.GroupNorm`` normalises over ``(C / G, T)``
    including padded positions, so padding would change the outputs at
    valid positions (the official code has that dependence).

    Shapes: ``x (B, C, T), mask (B, T)`` -> ``(B, C, T)``, zero at padding.
    """

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:  # type: ignore
        b, c, t = x.shape
        g = self.num_groups
        m = mask[:, None, None, :].to(x.dtype)  # (B, 1, 1, T)
        xg = x.view(b, g, c // g, t)
        count = (m.sum(dim=(2, 3), keepdim=True) * (c // g)).clamp(min=1.0)
        mean = (xg * m).sum(dim=(2, 3), keepdim=True) / count
        var = ((xg - mean).square() * m).sum(dim=(2, 3), keepdim=True) / count
        out = ((xg - mean) * torch.rsqrt(var + self.eps)).view(b, c, t)
        if self.affine:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out * mask[:, None].to(x.dtype)


class GlobalSelfAttention(nn.Module):
    """Vanilla masked multi-head self-attention over the whole sequence (the
    Transformer's), a drop-in for the FFT global branch (paper Table 8).

    ``q, k, v`` are 1x1 projections of the input; padded keys are masked;
    cost ``O(T^2)``. Attention itself is ``local_window_attention`` with a
    global window (``F.scaled_dot_product_attention``).

    Args:
        embed_dims (int): ``C``.
        num_heads (int): heads (divide ``C``).
        attn_drop (float): attention dropout (training).

    Shapes: ``x (B, C, T), mask (B, T)`` -> ``(B, C, T)``, zero at padding.
    """

    def __init__(self, embed_dims: int, num_heads: int = 4,
                 attn_drop: float = 0.0):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}.')
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Conv1d(embed_dims, 3 * embed_dims, 1)
        self.proj = nn.Conv1d(embed_dims, embed_dims, 1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, c, t = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).view(b, 3, h, c // h, t).transpose(
            3, 4).unbind(1)  # each (B, H, T, D)
        ctx = local_window_attention(
            q, k, v, mask, window_size=-1,
            attn_drop=self.attn_drop if self.training else 0.0)
        out = self.proj(ctx.transpose(2, 3).reshape(b, c, t))
        return out * mask[:, None].to(x.dtype)


class GMGBlock(nn.Module):
    """One GMG block (Eq. 1-4 + GroupNorm + FFN).

    With ``h = LN(x)``, ``I = FC(h)``, ``Lc = Conv(h)``, ``G = f_global(h)``::

        gate='paper'    (Eq. 4):  f_local = ReLU(G) * Lc + G
                                  f = x + ReLU(f_local) * I + f_local
        gate='flat'             :  f = x + ReLU(Lc) * I + ReLU(G) * Lc + G
        gate='official' (code) :  f = x + h + G + Lc * G + I * Lc * G
        gate='none'    (Tab. 7):  f = x + I + Lc + G
        y = f + FFN(GN(f))

    ``'paper'`` is Eq. 4 as written: its underbraces define ``f_local`` as the
    gated local term plus ``f_global``, and the instant branch is gated by
    ``ReLU(f_local)`` (nested, as the authors' code nests its products).
    ``'flat'`` gates each branch by the raw next coarser branch only (an
    earlier reading of Eq. 4; kept for comparison).

    (each residual branch goes through stochastic depth and an optional
    per-channel layer scale). Branch switches (Table 6): a disabled branch
    contributes nothing; with the paper's gate the enabled branches are
    accumulated from the coarsest: ``acc = coarsest``, then for each finer
    enabled branch ``b``: ``acc = acc + ReLU(acc) * b`` (``'flat'``: ``b`` is
    gated by the next coarser enabled branch alone). The official gate chains
    the enabled branches from coarse to fine in the same way.

    Args:
        embed_dims (int): ``C``.
        ffn_dims (int, optional): FFN hidden size; default ``4 * C``.
        local_kernel_size (int): kernel of the local depth-wise conv (odd;
            the official THUMOS14 config uses 1).
        use_instant, use_local, use_global (bool): branch switches.
        gate (str): ``'paper'`` | ``'flat'`` | ``'official'`` | ``'none'``.
        global_mixer (str): ``'fft'`` (GMG) or ``'attention'`` (Table 8).
        global_filter (dict): kwargs of :class:`GlobalFilter`
            (``filter_type='conv'`` paper / ``'mlp'`` official,
            ``kernel_size``, ``sparsity_threshold``).
        num_heads (int): heads of the ``'attention'`` mixer.
        instant_depthwise (bool): the instant FC is per channel (a
            depth-wise 1x1 conv, the official code) instead of a full
            ``C x C`` fully-connected layer (the paper's FC).
        num_groups (int): groups of the GroupNorm.
        drop_path (float): stochastic depth of both residual branches.
        layer_scale_init (float, optional): initial per-channel scale of the
            residual branches (the official code's ``AffineDropPath``, 1e-4);
            ``None`` for no scale.

    Shapes:
        x ``(B, C, T)`` (zero at padding), mask ``(B, T)`` prefix mask ->
        ``(B, C, T)``, ``(B, T)``.
    """

    def __init__(self,
                 embed_dims: int,
                 ffn_dims: Optional[int] = None,
                 local_kernel_size: int = 3,
                 use_instant: bool = True,
                 use_local: bool = True,
                 use_global: bool = True,
                 gate: str = 'paper',
                 global_mixer: str = 'fft',
                 global_filter: Optional[dict] = None,
                 num_heads: int = 4,
                 instant_depthwise: bool = False,
                 num_groups: int = 16,
                 drop_path: float = 0.0,
                 layer_scale_init: Optional[float] = None):
        super().__init__()
        if gate not in GATES:
            raise ValueError(f'GMGBlock gate must be one of {GATES}, got '
                             f'{gate!r}.')
        if global_mixer not in GLOBAL_MIXERS:
            raise ValueError(f'GMGBlock global_mixer must be one of '
                             f'{GLOBAL_MIXERS}, got {global_mixer!r}.')
        if not (use_instant or use_local or use_global):
            raise ValueError('GMGBlock needs at least one of use_instant, '
                             'use_local, use_global.')
        if local_kernel_size % 2 != 1:
            raise ValueError('GMGBlock local_kernel_size must be odd, got '
                             f'{local_kernel_size}.')
        if embed_dims % num_groups != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_groups={num_groups}.')
        self.use_instant, self.use_local = use_instant, use_local
        self.use_global, self.gate = use_global, gate
        ffn_dims = ffn_dims or 4 * embed_dims

        self.norm = LayerNorm1d(embed_dims)
        if use_instant:
            self.instant = nn.Conv1d(
                embed_dims, embed_dims, 1,
                groups=embed_dims if instant_depthwise else 1)
        if use_local:
            self.local = nn.Conv1d(
                embed_dims, embed_dims, local_kernel_size,
                padding=local_kernel_size // 2, groups=embed_dims)
        if use_global:
            if global_mixer == 'fft':
                self.global_branch = GlobalFilter(embed_dims,
                                                  **(global_filter or {}))
            else:
                self.global_branch = GlobalSelfAttention(embed_dims,
                                                         num_heads)
        self.ffn_norm = MaskedGroupNorm(num_groups, embed_dims)
        self.ffn = nn.Sequential(
            nn.Conv1d(embed_dims, ffn_dims, 1), nn.GELU(),
            nn.Conv1d(ffn_dims, embed_dims, 1))
        self.drop_path_mix = DropPath(drop_path)
        self.drop_path_ffn = DropPath(drop_path)
        if layer_scale_init is not None:
            self.scale_mix = nn.Parameter(
                torch.full((embed_dims, 1), float(layer_scale_init)))
            self.scale_ffn = nn.Parameter(
                torch.full((embed_dims, 1), float(layer_scale_init)))
        else:
            self.scale_mix = self.scale_ffn = None

    def mix(self, h: Tensor, mask: Tensor) -> Tensor:
        """The gated multi-granularity sum of Eq. 4 (without the residual
        ``x``) on the normalised input ``h`` ``(B, C, T)``."""
        m = mask[:, None].to(h.dtype)
        # fine -> coarse; None for disabled branches
        branches = [
            self.instant(h) if self.use_instant else None,
            self.local(h) * m if self.use_local else None,
            self.global_branch(h, mask) if self.use_global else None,
        ]
        enabled = [b for b in branches if b is not None]
        if self.gate == 'none':
            return sum(enabled)
        if self.gate == 'official':
            # G + Lc*G + I*Lc*G (+ h): a product chain from coarse to fine
            out, chain = h, None
            for b in reversed(enabled):
                chain = b if chain is None else chain * b
                out = out + chain
            return out
        if self.gate == 'flat':
            # each branch gated by ReLU of the next coarser enabled branch
            out = enabled[-1]  # the coarsest branch enters ungated
            for fine, coarse in zip(enabled[:-1], enabled[1:]):
                out = out + F.relu(coarse) * fine
            return out
        # paper (Eq. 4): nested, every finer branch gated by ReLU of all
        # that is coarser (f_local = ReLU(G) Lc + G; f = ReLU(f_local) I +
        # f_local)
        out = enabled[-1]
        for fine in reversed(enabled[:-1]):
            out = out + F.relu(out) * fine
        return out

    def forward(self, x: Tensor, mask: Tensor):
        m = mask[:, None].to(x.dtype)
        mixed = self.mix(self.norm(x) * m, mask) * m
        if self.scale_mix is not None:
            mixed = mixed * self.scale_mix
        out = x + self.drop_path_mix(mixed)
        ffn = self.ffn(self.ffn_norm(out, mask)) * m
        if self.scale_ffn is not None:
            ffn = ffn * self.scale_ffn
        out = out + self.drop_path_ffn(ffn)
        return out * m, mask
