"""Cross-layer fusions of CLTDR-GMG's decoder (Li et al., AAAI 2025, Eq. 5-9,
Table 9 and 11): the Decoupled Classification / Regression Modules' fusion of
a neighbour pyramid level (:class:`CrossLayerFusion`), the RefineHead's CLFF
(:class:`CrossLayerFeatureFusion`) and the choice of which layers a task
combines (:func:`check_layers`, :func:`fuse_neighbours`).

Split out of ``models/heads/cltdr_head.py`` (which re-exports these names) so
that the head holds its towers, loss and decoding, and the fusion blocks
stand on their own."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .masked_conv import MaskedConv1d

FUSIONS = ('attention', 'add', 'concat')
# relative pyramid layers a task's feature may combine (Table 9): P^{l+1},
# P^l, P^{l-1}
LAYER_OFFSETS = (1, 0, -1)


def check_layers(name: str, layers: Sequence[int]) -> Tuple[int, ...]:
    """Validate a ``cls_layers`` / ``reg_layers`` list (Table 9): distinct
    offsets of ``LAYER_OFFSETS`` that include ``0`` (``P^l``, which Eq. 6 / 8
    and every row of Table 9 keep)."""
    layers = tuple(int(o) for o in layers)
    if (0 not in layers or len(set(layers)) != len(layers)
            or not set(layers) <= set(LAYER_OFFSETS)):
        raise ValueError(
            f'CLTDRHead {name} must be distinct offsets of {LAYER_OFFSETS} '
            f'(+1: P^(l+1), 0: P^l, -1: P^(l-1)) including 0, got '
            f'{list(layers)!r}.')
    return layers


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Global average pooling over valid positions: ``(B, C, T)`` ->
    ``(B, C)``."""
    m = mask[:, None].to(x.dtype)
    return (x * m).sum(-1) / m.sum(-1).clamp(min=1.0)


def fit_length(x: Tensor, length: int) -> Tensor:
    """Crop or zero-pad the last axis of ``x`` to ``length``."""
    t = x.shape[-1]
    if t >= length:
        return x[..., :length]
    return F.pad(x, (0, length - t))


class CrossLayerFusion(nn.Module):
    """The Decoupled Classification Module (Eq. 5-6, ``direction='up'``) or
    the Decoupled Regression Module's fusion (Eq. 7-8, ``direction='down'``).

    The neighbour level is resampled to the length of ``P^l`` — ``P^{l+1}``
    by a transposed conv (x2, kernel 2, so output ``j`` sees input ``j // 2``
    only), ``P^{l-1}`` by a stride-2 conv (kernel 3) — giving ``f_n``;
    ``P^l`` is refined by a conv into ``f_l``; then::

        W = Sigmoid(FC(GAP(ReLU(f_n + f_l))))   (Eq. 5 / 7, channel attention)
        f = P^l + f_n * W                          (Eq. 6 / 8)

    ``fusion='add'`` (``f = P^l + f_n``) and ``'concat'`` (``f = Conv1x1([P^l,
    f_n])``) are the paper's Table 11 alternatives. GAP averages valid
    positions only.

    Args:
        embed_dims (int): ``D`` of every level.
        direction (str): ``'up'`` (fuse the coarser level, DCM) or ``'down'``
            (fuse the finer level, DRM).
        fusion (str): ``'attention'`` | ``'add'`` | ``'concat'``.

    Shapes: ``P (B, D, T), mask (B, T), neighbour (B, D, T')`` ->
    ``(B, D, T)``; ``neighbour=None`` returns ``P``.
    """

    def __init__(self, embed_dims: int, direction: str,
                 fusion: str = 'attention'):
        super().__init__()
        if direction == 'up':
            self.resample = nn.ConvTranspose1d(embed_dims, embed_dims, 2,
                                               stride=2)
        elif direction == 'down':
            self.resample = nn.Conv1d(embed_dims, embed_dims, 3, stride=2,
                                      padding=1)
        else:
            raise ValueError(f"direction must be 'up' or 'down', got "
                             f'{direction!r}.')
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got '
                             f'{fusion!r}.')
        self.fusion = fusion
        if fusion == 'attention':
            self.refine = MaskedConv1d(embed_dims, embed_dims, 3)
            self.fc = nn.Linear(embed_dims, embed_dims)
        elif fusion == 'concat':
            self.merge = nn.Conv1d(2 * embed_dims, embed_dims, 1)

    def forward(self, feat: Tensor, mask: Tensor,
                neighbour: Optional[Tensor]) -> Tensor:
        if neighbour is None:
            return feat
        if self.fusion == 'concat':
            m = mask[:, None].to(feat.dtype)
            f_n = fit_length(self.resample(neighbour), feat.shape[-1]) * m
            return self.merge(torch.cat([feat, f_n], dim=1)) * m
        return feat + self.contribution(feat, mask, neighbour)

    def contribution(self, feat: Tensor, mask: Tensor,
                     neighbour: Tensor) -> Tensor:
        """What ``'attention'`` / ``'add'`` fusion adds to ``P^l``:
        ``f_n * W`` (Eq. 6 / 8) or ``f_n``, ``(B, D, T)``."""
        if self.fusion == 'concat':
            raise ValueError("fusion='concat' has no additive contribution.")
        m = mask[:, None].to(feat.dtype)
        f_n = fit_length(self.resample(neighbour), feat.shape[-1]) * m
        if self.fusion == 'add':
            return f_n
        f_l, _ = self.refine(feat, mask)
        weight = torch.sigmoid(self.fc(masked_mean(F.relu(f_n + f_l), mask)))
        return f_n * weight[..., None]


class CrossLayerFeatureFusion(nn.Module):
    """CLFF (Eq. 9): ``f_c = Conv(P^{l-1}) + P^l + ConvTransposed(P^{l+1})``.

    ``Conv`` is a depth-wise stride-2 conv (kernel 3), ``ConvTransposed`` a
    x2 transposed conv (kernel 2); a missing neighbour contributes nothing.

    Shapes: ``(B, D, T)`` (+ neighbours ``(B, D, 2T)`` / ``(B, D, T/2)``) ->
    ``(B, D, T)``.
    """

    def __init__(self, embed_dims: int):
        super().__init__()
        self.down = nn.Conv1d(embed_dims, embed_dims, 3, stride=2, padding=1,
                              groups=embed_dims)
        self.up = nn.ConvTranspose1d(embed_dims, embed_dims, 2, stride=2)

    def forward(self, feat: Tensor, mask: Tensor, lower: Optional[Tensor],
                higher: Optional[Tensor]) -> Tensor:
        t = feat.shape[-1]
        out = feat
        if lower is not None:
            out = out + fit_length(self.down(lower), t)
        if higher is not None:
            out = out + fit_length(self.up(higher), t)
        return out * mask[:, None].to(feat.dtype)


def fuse_neighbours(feat: Tensor, mask: Tensor,
                    fusions: Sequence[Tuple[int, nn.Module]],
                    higher: Optional[Tensor], lower: Optional[Tensor],
                    fusion: str) -> Tensor:
    """``P^l`` combined with the neighbours of ``fusions`` (``(offset,
    CrossLayerFusion)`` pairs, offset ``1``: ``higher``, ``-1``: ``lower``)
    that exist at this level (see :class:`CLTDRHead`, "Which layers each task
    combines"): one neighbour (or ``fusion='concat'``) goes through its
    module; two add their contributions to ``P^l``."""
    active = [(module, higher if offset == 1 else lower)
              for offset, module in fusions]
    active = [(module, n) for module, n in active if n is not None]
    if not active:
        return feat
    if fusion == 'concat' or len(active) == 1:
        module, neighbour = active[0]
        return module(feat, mask, neighbour)
    out = feat
    for module, neighbour in active:
        out = out + module.contribution(feat, mask, neighbour)
    return out
