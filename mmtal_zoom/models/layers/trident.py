"""Relative boundary modelling of TriDet's Trident head (Shi et al., CVPR
2023, Sec. 3.2), used by CLTDR-GMG's Decoupled Regression Module.

Three branches predict, per position ``t``:

* start logits ``S[t]`` and end logits ``E[t]`` (boundary evidence),
* centre-offset logits ``O_left[t, d]``, ``O_right[t, d]`` for ``d = 0..n``,

and the distance to the start is the expectation of a distribution over the
``n + 1`` bins that combines the evidence of the neighbour at that distance
with the centre's own opinion::

    P_left(d | t)  = softmax_d(S[t - d] + O_left[t, d])
    left(t)        = sum_d d * P_left(d | t)
    P_right(d | t) = softmax_d(E[t + d] + O_right[t, d])
    right(t)       = sum_d d * P_right(d | t)

in units of the level's stride. Neighbours outside the sequence have logit
0 (TriDet's constant padding); masked heads also output 0 at padded
positions, so padding does not change the distances at valid positions.

Written here (pure torch, ``Tensor.unfold`` for the neighbour windows)
because no OpenMMLab package has a 1-D Trident head.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def trident_distances(offset_logits: Tensor, start_logits: Tensor,
                      end_logits: Tensor, num_bins: int) -> Tensor:
    """Expected boundary distances of the Trident head.

    Args:
        offset_logits (Tensor): centre-offset logits ``(B, 2 (n + 1), T)``:
            channels ``[0, n]`` for the start side, ``[n + 1, 2n + 1]`` for
            the end side, indexed by distance ``d``.
        start_logits (Tensor): ``(B, K_b, T)`` start evidence (``K_b = 1``
            class-agnostic or ``K`` per class).
        end_logits (Tensor): ``(B, K_b, T)`` end evidence.
        num_bins (int): ``n``, the largest distance in strides.

    Returns:
        Tensor: ``(B, T, K_b, 2)`` distances ``(left, right)`` in units of the
        level's stride, in ``[0, n]``.
    """
    b, _, t = offset_logits.shape
    nb1 = num_bins + 1
    if offset_logits.shape[1] != 2 * nb1:
        raise ValueError(
            f'trident_distances: offset_logits has {offset_logits.shape[1]} '
            f'channels, expected 2 * (num_bins + 1) = {2 * nb1}.')
    offsets = offset_logits.view(b, 2, nb1, t).permute(0, 1, 3, 2)  # B2Tn
    # [..., t, d] = S[t - d]   /   E[t + d]
    start_nb = F.pad(start_logits, (num_bins, 0)).unfold(-1, nb1, 1).flip(-1)
    end_nb = F.pad(end_logits, (0, num_bins)).unfold(-1, nb1, 1)
    bins = torch.arange(nb1, device=offset_logits.device,
                        dtype=offset_logits.dtype)
    p_left = (start_nb + offsets[:, :1]).softmax(dim=-1)  # (B, K_b, T, n+1)
    p_right = (end_nb + offsets[:, 1:]).softmax(dim=-1)
    left = (p_left * bins).sum(dim=-1)
    right = (p_right * bins).sum(dim=-1)
    return torch.stack([left, right], dim=-1).transpose(1, 2)  # (B,T,Kb,2)


def refine_trident_distances(dist: Tensor, refine_offsets: Tensor,
                             num_boundary: int) -> Tensor:
    """Boundaries moved by refinement offsets (CLTDR-GMG Eq. 11-12):
    ``ŝ^r = ŝ + R_so``, ``ê^r = ê + R_eo``, in units of the level's stride.

    Args:
        dist (Tensor): ``(B, T, K_b, 2)`` distances of
            :func:`trident_distances`.
        refine_offsets (Tensor): ``(B, 2 K_b, T)``: ``R_so`` then ``R_eo``.
        num_boundary (int): ``K_b``.

    Returns:
        Tensor: ``(B, T, K_b, 2)`` refined distances, clamped at 0.
    """
    b, _, t = refine_offsets.shape
    r = refine_offsets.view(b, 2, num_boundary, t).permute(0, 3, 2, 1)
    # start moves by R_so (left distance shrinks), end by R_eo
    refined = torch.stack(
        [dist[..., 0] - r[..., 0], dist[..., 1] + r[..., 1]], dim=-1)
    return refined.clamp(min=0.0)
