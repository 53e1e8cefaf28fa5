"""Continuous-depth execution of transformer blocks (ATR, Temporal Zoom).

Temporal Zoom Networks (Shihab et al., Fig. 1 / abstract): Adaptive Temporal
Refinement gives each time step a continuous depth ``tau_t in [0, 1]``. How a
continuous depth becomes layer updates is not given; this project's design:
deep layer ``k`` of ``K`` updates token ``t`` with weight

    w_{t,k} = clamp(tau_t * K - k, 0, 1)                          (ATR depth)
    x^{k+1}_t = x^k_t + w_{t,k} * (Block_k(x^k)_t - x^k_t)

so a token with ``tau_t = 0.3`` and ``K = 4`` gets layer 0 fully and layer 1
at 20 %. Updates below ``min_weight`` are skipped (``w := 0``).

**Relaxation** (own design). The clamp and the skipping leave dead
bands: a saturated layer (``w = 1``) and a skipped one (``w = 0``) pass no
gradient to ``tau``, so with ``K = 4`` and ``min_weight = 0.1`` every
``tau in [0.25, 0.275)`` — where the router starts — got no gradient from
the task loss. :func:`depth_weights` therefore uses a *straight-through*
estimator: the forward pass uses the hard weights above (the skipping, hence
the compute savings, are unchanged) and the backward pass the derivative of a
smooth clamp

    s_{t,k} = delta * (softplus((tau_t K - k) / delta)
                       - softplus((tau_t K - k - 1) / delta)),
    d s_{t,k} / d tau_t = K * (sigmoid((tau_t K - k) / delta)
                               - sigmoid((tau_t K - k - 1) / delta)) > 0,

(``delta`` = ``smoothing``, in layers), counted for the layers a token runs
and the first layer it skips (its *frontier*), since ``dL/dw_{t,k}`` needs
``Block_k`` at that token. Every ``tau in [0, 1]`` gets gradient from at
least the frontier layer; the tails of the other skipped layers are dropped,
so the sparse path (which runs the frontier in training) and the dense path
give the same gradients. ``relaxation='clamp'`` keeps the old, dead-banded
gradient (for ablations).

The same formula is executed two ways:

* **dense**: every block on every token, then the weighted update (the
  literal formula);
* **sparse**: only the tokens with ``w_{t,k} > 0`` ("active") — plus, in
  training, each token's frontier layer (weight 0 in the forward pass, for
  the gradient) — are gathered; their queries, output projection and FFN run
  on them alone, while keys / values come from every token (exited tokens
  keep their frozen state, as in the dense path) — only from the tokens
  inside some active token's local window, since no other key is read. The
  updates are scattered back.

Both give the same numbers (tests check it, values and gradients); the sparse
path does the work of ``sum_k #active_k`` tokens instead of ``K * T`` at
inference (plus at most one frontier layer per token in training).
Gather / scatter are vectorised over the batch with per-video active counts
(padded with a sentinel column), and work on any device.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .transformer import TransformerBlock1d, local_window_attention

RELAXATIONS = ('straight_through', 'clamp')


def depth_weights(tau: Tensor, num_layers: int,
                  min_weight: float = 0.0,
                  relaxation: str = 'straight_through',
                  smoothing: float = 0.25) -> Tensor:
    """``w_{t,k} = clamp(tau_t K - k, 0, 1)`` for ``k = 0..K-1``.

    Weights below ``min_weight`` are set to 0 (the update is skipped), so the
    dense and sparse paths agree on which tokens a layer touches. The values
    are the same for both relaxations; only the gradient differs (module
    doc).

    Args:
        tau (Tensor): ``(B, T)`` depths in ``[0, 1]``.
        num_layers (int): ``K``.
        min_weight (float): smallest update that is executed.
        relaxation (str): ``'straight_through'`` (hard forward, gradient of
            the smooth clamp on the executed and frontier layers) or
            ``'clamp'`` (the gradient of the hard weights: zero where a
            layer is saturated or skipped).
        smoothing (float): ``delta`` of the smooth clamp, in layers.

    Returns:
        Tensor: ``(K, B, T)``.
    """
    if relaxation not in RELAXATIONS:
        raise ValueError(f'relaxation must be in {RELAXATIONS}, got '
                         f'{relaxation!r}.')
    if smoothing <= 0:
        raise ValueError(f'smoothing must be > 0, got {smoothing}.')
    k = torch.arange(num_layers, device=tau.device, dtype=tau.dtype)
    u = tau[None] * num_layers - k[:, None, None]  # depth left at layer k
    w = u.clamp(0.0, 1.0)
    if min_weight > 0:
        w = w * (w >= min_weight).to(w.dtype)
    if relaxation == 'clamp' or not tau.requires_grad:
        return w
    soft = smoothing * (F.softplus(u / smoothing) -
                        F.softplus((u - 1.0) / smoothing))
    run = computed_layers(w).to(w.dtype)
    # value: exactly w (soft - soft.detach() is 0); gradient: d soft / d tau
    # on the executed + frontier layers
    return w.detach() + (soft - soft.detach()) * run


def computed_layers(weights: Tensor) -> Tensor:
    """The (layer, token) pairs the straight-through gradient needs: the
    executed layers (``w > 0``) and each token's first skipped layer.

    Args:
        weights (Tensor): ``(K, B, T)``, non-increasing in ``k`` (as
            :func:`depth_weights` gives them).

    Returns:
        Tensor: ``(K, B, T)`` bool.
    """
    active = weights > 0
    first = torch.ones_like(active[:1])
    return active | torch.cat([first, active[:-1]], dim=0)


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
                             weights: Tensor, path: str = 'sparse',
                             frontier: bool = False
                             ) -> Tuple[Tensor, Tensor]:
    """Run ``K`` stride-1 blocks with per-token update weights.

    Args:
        blocks (Sequence[TransformerBlock1d]): the ``K`` deep layers.
        x (Tensor): ``(B, C, T)``.
        mask (Tensor): ``(B, T)`` bool.
        weights (Tensor): ``(K, B, T)`` from :func:`depth_weights`.
        path (str): ``'dense'`` or ``'sparse'`` (see the module doc).
        frontier (bool): sparse path: also run each token's first skipped
            layer (weight 0, values unchanged) so that the straight-through
            gradient reaches ``tau`` (:func:`computed_layers`); for
            training. The dense path runs every layer anyway.

    Returns:
        tuple: ``x`` after the deep stage ``(B, C, T)`` and the number of
        (token, layer) updates with a non-zero weight per layer ``(K,)``
        (long; frontier evaluations are not counted).
    """
    if path not in ('dense', 'sparse'):
        raise ValueError(f"path must be 'dense' or 'sparse', got {path!r}.")
    run_all = computed_layers(weights) if frontier else None
    counts = []
    for k, (block, w) in enumerate(zip(blocks, weights)):
        w = w * mask.to(w.dtype)
        active = w > 0
        counts.append(active.sum())
        if path == 'dense':
            z, _ = block(x, mask)
            x = x + w[:, None] * (z - x)
            continue
        run = (run_all[k] & mask) if frontier else active
        if not bool(run.any()):
            continue
        idx, valid = compact_indices(run)
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
