"""Continuous-depth execution of transformer blocks (ATR, Temporal Zoom).

Seed 000, Fig. 1 / abstract: Adaptive Temporal Refinement gives each time
step a continuous depth ``tau_t in [0, 1]``; deep layer ``k`` of ``K`` updates
token ``t`` with weight

    w_{t,k} = clamp(tau_t * K - k, 0, 1)                          (ATR depth)
    x^{k+1}_t = x^k_t + w_{t,k} * (Block_k(x^k)_t - x^k_t)

so a token with ``tau_t = 0.3`` and ``K = 4`` gets layer 0 fully and layer 1
at 20 %. The same formula is executed two ways:

* **dense**: every block on every token, then the weighted update (the
  literal formula; ``w`` is differentiable in ``tau``);
* **sparse**: only the tokens with ``w_{t,k} > 0`` ("active") are gathered;
  their queries, output projection and FFN run on them alone, while keys /
  values come from every token (exited tokens keep their frozen state, as in
  the dense path) — only from the tokens inside some active token's local
  window, since no other key is read. The updates are scattered back.

Both give the same numbers (tests check it, values and gradients); the sparse
path does the work of ``sum_k #active_k`` tokens instead of ``K * T``.
Gather / scatter are vectorised over the batch with per-video active counts
(padded with a sentinel column), and work on any device.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .transformer import TransformerBlock1d, local_window_attention


def depth_weights(tau: Tensor, num_layers: int,
                  min_weight: float = 0.0,
                  relaxation: float = 0.0) -> Tensor:
    """``w_{t,k} = clamp(tau_t K - k, 0, 1)`` for ``k = 0..K-1``.

    Weights below ``min_weight`` are set to 0 (the update is skipped), so the
    dense and sparse paths agree on which tokens a layer touches.

    The clamp is flat outside ``tau K - k in [0, 1]`` and the ``min_weight``
    cut adds a dead band above it: a ``tau`` there gets no gradient from the
    task loss (with ``K = 4`` and ``tau = 0.25``, the usual initialisation,
    none at all). ``relaxation > 0`` (own design) keeps the forward values
    and takes the gradient of a smooth surrogate instead, straight-through:
    ``s_{t,k} = sigmoid((tau_t K - k - 1/2) / relaxation)``, whose derivative
    is positive for every ``tau``. The gradient reaches ``tau`` only where the
    layer's update was computed, i.e. on the dense path for every token.

    Args:
        tau (Tensor): ``(B, T)`` depths in ``[0, 1]``.
        num_layers (int): ``K``.
        min_weight (float): smallest update that is executed.
        relaxation (float): temperature of the surrogate; 0 for the plain
            clamp's gradient.

    Returns:
        Tensor: ``(K, B, T)``.
    """
    k = torch.arange(num_layers, device=tau.device, dtype=tau.dtype)
    ramp = tau[None] * num_layers - k[:, None, None]
    w = ramp.clamp(0.0, 1.0)
    if min_weight > 0:
        w = w * (w >= min_weight).to(w.dtype)
    if relaxation > 0:
        soft = torch.sigmoid((ramp - 0.5) / relaxation)
        w = w.detach() + (soft - soft.detach())
    return w


def compact_indices(active: Tensor) -> Tuple[Tensor, Tensor]:
    """Positions of the active tokens of each video, padded.

    Args:
        active (Tensor): ``(B, T)`` bool.

    Returns:
        tuple: ``idx`` ``(B, N)`` long with ``N = max_b #active_b``, active
        positions in temporal order, padded with the sentinel ``T``; and
        ``valid`` ``(B, N)`` bool.
    """
    b, t = active.shape
    counts = active.sum(dim=1)
    n = int(counts.max()) if b > 0 else 0
    slot = active.long().cumsum(dim=1) - 1  # rank of each active token
    slot = torch.where(active, slot, torch.full_like(slot, n))  # others: n
    idx = torch.full((b, n + 1), t, dtype=torch.long, device=active.device)
    pos = torch.arange(t, device=active.device).expand(b, t)
    idx.scatter_(1, slot, pos)  # inactive tokens all land in column n
    idx = idx[:, :n]
    valid = torch.arange(n, device=active.device)[None] < counts[:, None]
    return torch.where(valid, idx, torch.full_like(idx, t)), valid


def gather_tokens(x: Tensor, idx: Tensor) -> Tensor:
    """``(B, C, T)`` -> ``(B, C, N)`` at ``idx`` (sentinel ``T`` gives 0)."""
    x_ext = F.pad(x, (0, 1))
    return x_ext.gather(2, idx[:, None, :].expand(-1, x.shape[1], -1))


def scatter_tokens(x: Tensor, idx: Tensor, values: Tensor) -> Tensor:
    """Write ``values`` ``(B, C, N)`` into a copy of ``x`` ``(B, C, T)`` at
    ``idx`` (sentinel entries are dropped)."""
    x_ext = F.pad(x, (0, 1))
    out = x_ext.scatter(2, idx[:, None, :].expand(-1, x.shape[1], -1),
                        values)
    return out[..., :-1]


def block_forward_tokens(block: TransformerBlock1d, x: Tensor, mask: Tensor,
                         idx: Tensor, valid: Tensor) -> Tensor:
    """A stride-1 :class:`TransformerBlock1d` evaluated at some tokens only.

    Equals ``block(x, mask)[0]`` gathered at ``idx``: queries, output
    projection and FFN run on the ``N`` selected tokens; keys and values are
    projected only for the tokens inside the attention window of a selected
    token (all valid tokens for global attention) — the only keys read.

    Args:
        block (TransformerBlock1d): with ``stride == 1``.
        x (Tensor): ``(B, C, T)``.
        mask (Tensor): ``(B, T)`` bool.
        idx (Tensor): ``(B, N)`` from :func:`compact_indices`.
        valid (Tensor): ``(B, N)`` bool.

    Returns:
        Tensor: ``(B, C, N)`` block outputs at the selected tokens (0 at
        padded slots).
    """
    if block.stride != 1:
        raise ValueError('block_forward_tokens needs a stride-1 block.')
    attn = block.attn
    m = mask[:, None].to(x.dtype)
    h = block.ln1(x) * m
    # keys / values: depth-wise convs on all tokens (cheap, 3 taps), the
    # LayerNorm + 1x1 projections only where an active query can look.
    t = x.shape[-1]
    w = attn.window_size
    if w <= 0 or w >= 2 * t + 1:
        needed = mask
    else:
        # scatter_add: sentinel slots (clamped to t - 1, value 0) never
        # overwrite a real active token there
        sel = x.new_zeros(mask.shape)
        sel.scatter_add_(1, idx.clamp(max=t - 1), valid.to(x.dtype))
        needed = F.max_pool1d(sel[:, None], w, stride=1,
                              padding=w // 2)[:, 0] > 0
        needed = needed & mask
    kv_idx, kv_valid = compact_indices(needed)
    kv_m = kv_valid[:, None].to(x.dtype)
    k = gather_tokens(attn.k_conv(h, mask)[0], kv_idx)
    v = gather_tokens(attn.v_conv(h, mask)[0], kv_idx)
    k = attn.key(attn.k_norm(k) * kv_m)
    v = attn.value(attn.v_norm(v) * kv_m)
    k = scatter_tokens(torch.zeros_like(x), kv_idx, k)
    v = scatter_tokens(torch.zeros_like(x), kv_idx, v)
    qm = valid[:, None].to(x.dtype)
    q = gather_tokens(attn.q_conv(h, mask)[0], idx)
    q = attn.query(attn.q_norm(q) * qm)
    ctx = local_window_attention(
        attn._heads(q), attn._heads(k), attn._heads(v), mask, w,
        q_pos=idx.clamp(max=t - 1),
        attn_drop=attn.attn_drop if block.training else 0.0)
    out = attn.output(ctx) * qm
    y = gather_tokens(x, idx) + block.attn_residual(out)
    y = y + block.mlp_residual(y, valid)
    return y * qm


def continuous_depth_forward(blocks, x: Tensor, mask: Tensor,
                             weights: Tensor, path: str = 'sparse'
                             ) -> Tuple[Tensor, Tensor]:
    """Run ``K`` stride-1 blocks with per-token update weights.

    Args:
        blocks (Sequence[TransformerBlock1d]): the ``K`` deep layers.
        x (Tensor): ``(B, C, T)``.
        mask (Tensor): ``(B, T)`` bool.
        weights (Tensor): ``(K, B, T)`` from :func:`depth_weights`.
        path (str): ``'dense'`` or ``'sparse'`` (see the module doc).

    Returns:
        tuple: ``x`` after the deep stage ``(B, C, T)`` and the number of
        (token, layer) updates executed per layer ``(K,)`` (long).
    """
    if path not in ('dense', 'sparse'):
        raise ValueError(f"path must be 'dense' or 'sparse', got {path!r}.")
    counts = []
    for block, w in zip(blocks, weights):
        w = w * mask.to(w.dtype)
        active = w > 0
        counts.append(active.sum())
        if path == 'dense':
            z, _ = block(x, mask)
            x = x + w[:, None] * (z - x)
            continue
        if not bool(active.any()):
            continue
        idx, valid = compact_indices(active)
        z = block_forward_tokens(block, x, mask, idx, valid)
        x_act = gather_tokens(x, idx)
        w_act = gather_tokens(w[:, None], idx)
        x = scatter_tokens(x, idx, x_act + w_act * (z - x_act))
    return x, torch.stack(counts) if counts else x.new_zeros(0).long()


class _AttachAuxLoss(torch.autograd.Function):
    """Identity on ``x`` whose backward also sends gradient 1 to ``loss``.

    The total objective becomes ``L_task + loss`` without the loss being
    returned by the head (the pattern of Megatron-LM's MoE auxiliary-loss
    scaler). Used for ATR's compute-budget term, which is computed in the
    backbone where no ground truth (and no loss dict) exists.
    """

    @staticmethod
    def forward(ctx, x: Tensor, loss: Tensor) -> Tensor:
        ctx.save_for_backward(loss)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (loss, ) = ctx.saved_tensors
        return grad_out, torch.ones_like(loss)


def attach_aux_loss(x: Tensor, loss: Tensor) -> Tensor:
    """Return ``x`` unchanged; backpropagating through it adds ``loss`` to
    the objective (gradient scale 1; not scaled by an AMP loss scaler)."""
    if not loss.requires_grad:
        return x
    return _AttachAuxLoss.apply(x, loss)
