"""Boundary Distance Regression (BDR) branch of Temporal Zoom Networks.

Temporal Zoom Networks (Shihab et al.), abstract and Fig. 2: BDR "replaces
classification-based boundary detection with signed-distance regression":
a field ``d(t) = t - b(t)`` for the start boundary and one for the end,
whose zero crossings are the boundaries. That ``b(t)`` is the nearest start
(end) is this project's reading. Theorem 1/2 argue that the
localisation variance of a crossing is lower than that of a thresholded
classification probability (``tools/analysis/bdr_variance.py`` reproduces
the setting).

Design (the paper gives no architecture; see docs/zoom.md):

* the branch reads one pyramid level (``level``, default 0, the finest) and
  runs a small masked-conv tower (:class:`ConvTower`, as the baseline head)
  to two channels ``[d_start, d_end]``, in units of the truncation range
  ``R``, multiplied by ``R`` to give grid units;
* targets: :class:`SignedDistanceTarget` (truncated at ``R``, unobserved edge
  boundaries ignored); loss: :class:`SignedDistanceLoss` on predictions
  clamped to ``[-R, R]`` (one-sided where the target is truncated);
* extraction: :func:`zero_crossings` (ascending crossings, linear
  interpolation), used by :class:`BDRRefinedHead` to snap any detector's
  boundaries.

This is a branch, not a detector head: it predicts no classes. Use it through
:class:`BDRRefinedHead` (``bdr=dict(type='BDRHead', ...)``).
"""
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmaction.registry import MODELS, TASK_UTILS
from ..layers.conv_tower import ConvTower
from ..task_modules.zero_crossing import zero_crossings


@MODELS.register_module()
class BDRHead(BaseModule):
    """Signed boundary-distance regression on one pyramid level.

    Args:
        in_channels (int): channels of the level.
        feat_channels (int): channels of the conv tower.
        num_convs (int): convs before the output conv.
        kernel_size (int): temporal kernel size.
        with_ln (bool): LayerNorm in the tower.
        level (int): pyramid level the branch reads.
        stride (float): grid units per step of that level (the point
            generator's stride of ``level``; 1 for level 0).
        truncation (float): ``R`` in grid units.
        min_slope (float): minimum rise per step of a crossing, as a
            fraction of the ideal rise (``stride`` grid units per step).
        target (dict): target generator config.
        loss (dict): loss config (called on grid-unit distances).
        loss_weight (float): multiplier of the BDR loss in the total.
        detach_feats (bool): stop the BDR gradient at the features (the
            branch then cannot change the detector it is retrofitted to).

    Outputs of :meth:`forward`: a one-element list ``[(B, 2, T_level)]``
    (``[d_start, d_end]`` in grid units), the per-level list convention of
    every head.
    """

    def __init__(self,
                 in_channels: int,
                 feat_channels: int = 128,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 with_ln: bool = True,
                 level: int = 0,
                 stride: float = 1.0,
                 truncation: float = 16.0,
                 min_slope: float = 0.5,
                 target: dict = dict(type='SignedDistanceTarget'),
                 loss: dict = dict(type='SignedDistanceLoss', beta=1.0,
                                   boundary_sigma=2.0, boundary_weight=4.0),
                 loss_weight: float = 1.0,
                 detach_feats: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.level = int(level)
        self.stride = float(stride)
        self.truncation = float(truncation)
        self.min_slope = float(min_slope)
        self.loss_weight = float(loss_weight)
        self.detach_feats = detach_feats
        self.tower = ConvTower(in_channels, feat_channels, 2, num_convs,
                               kernel_size, with_ln)
        with torch.no_grad():  # start from a flat field: d = 0 everywhere
            self.tower.out_conv.weight.mul_(0.1)
            self.tower.out_conv.bias.zero_()
        target = dict(target)
        target.setdefault('truncation', self.truncation)
        self.target_generator = TASK_UTILS.build(target)
        self.loss_dist = MODELS.build(loss)

    def forward(self, feats: Sequence[Tensor],
                masks: Sequence[Tensor]) -> List[Tensor]:
        """Args: per-level ``(B, C, T_l)`` features and ``(B, T_l)`` masks.

        Returns: ``[(B, 2, T_level)]`` signed distances in grid units.
        """
        if self.level >= len(feats):
            raise ValueError(f'BDRHead reads level {self.level} but only '
                             f'{len(feats)} feature levels were given.')
        x, mask = feats[self.level], masks[self.level]
        if self.detach_feats:
            x = x.detach()
        raw = self.tower(x, mask)
        return [raw * self.truncation * mask[:, None].to(raw.dtype)]

    def get_targets(self, mask: Tensor,
                    data_samples: Sequence) -> Tuple[Tensor, Tensor]:
        """``(B, T, 2)`` targets and weights for the level mask ``(B, T)``."""
        t = mask.shape[-1]
        positions = torch.arange(t, device=mask.device,
                                 dtype=torch.float32) * self.stride
        targets, weights = [], []
        for i, sample in enumerate(data_samples):
            segs = sample.gt_instances.segments.to(mask.device)
            tgt, w = self.target_generator.get_targets(positions, mask[i],
                                                       segs)
            targets.append(tgt)
            weights.append(w)
        return torch.stack(targets), torch.stack(weights)

    def loss_by_feat(self, dists: Sequence[Tensor], masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        """``loss_bdr``: :class:`SignedDistanceLoss` averaged over the
        weighted (observed, valid) steps of both fields."""
        dist = dists[0]
        mask = masks[self.level]
        targets, weights = self.get_targets(mask, data_samples)
        pred = dist.transpose(1, 2).clamp(-self.truncation, self.truncation)
        num = weights.sum().clamp(min=1.0)
        loss = self.loss_dist(pred, targets.to(pred.dtype), weight=weights,
                              avg_factor=float(num.detach()))
        return dict(loss_bdr=self.loss_weight * loss)

    def crossings(self, dists: Sequence[Tensor],
                  masks: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """Ascending zero crossings of the start and end fields, each
        ``(B, T_level)`` in steps of the level (NaN where none)."""
        dist = dists[0]
        mask = masks[self.level]
        min_rise = self.min_slope * self.stride
        return (zero_crossings(dist[:, 0], mask, min_rise),
                zero_crossings(dist[:, 1], mask, min_rise))
