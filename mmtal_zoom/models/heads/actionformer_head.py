"""ActionFormer's classification + regression head (the uniform baseline)."""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor

from mmaction.registry import MODELS
from ..layers.conv_tower import ConvTower, init_cls_bias
from .conv_tower_head import ConvTowerHead

# ConvTower moved to models/layers/conv_tower.py; still importable from here
__all__ = ['ActionFormerHead', 'ConvTower']


@MODELS.register_module()
class ActionFormerHead(ConvTowerHead):
    """Anchor-free dense head of ActionFormer (Zhang et al., ECCV 2022).

    Every point of every pyramid level predicts class probabilities and the
    distances to the action's start and end (in units of the level's
    stride). Training: centre sampling + regression ranges
    (``CenterSamplingAssigner``), sigmoid focal loss on all valid points and
    a 1-D DIoU loss on positives, both divided by an EMA of the number of
    positives. Inference (``BaseTALHead``): top-k, Soft-NMS, seconds.

    Args:
        cls_prior_prob (float): initial foreground probability (focal-loss
            bias init).
        empty_cls (Sequence[int]): classes without training instances; their
            bias is set so that they are never predicted (ActionFormer).
        label_smoothing (float): smoothing of the class targets.
        loss_cls (dict): classification loss config.
        loss_reg (dict): regression loss config (on stride-normalised
            distances).
        reg_loss_weight (float): weight of the regression loss.
        **kwargs: ``num_classes``, ``in_channels``, ``feat_channels``,
            ``num_convs``, ``kernel_size``, ``with_ln`` and ``assigner`` of
            :class:`ConvTowerHead`; ``prior_generator``, ``bbox_coder``,
            ``loss_normalizer``, ``test_cfg``... of :class:`BaseTALHead`.

    Outputs of :meth:`forward`: ``cls_logits`` list of ``(B, K, T_l)`` and
    ``reg_offsets`` list of ``(B, 2, T_l)`` (non-negative).
    """

    def __init__(self,
                 cls_prior_prob: float = 0.01,
                 empty_cls: Sequence[int] = (),
                 label_smoothing: float = 0.0,
                 loss_cls: dict = dict(type='SigmoidFocalLoss'),
                 loss_reg: dict = dict(type='IoU1DLoss', mode='diou'),
                 reg_loss_weight: float = 1.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.cls_tower = self.build_tower(self.num_classes)
        self.reg_tower = self.build_tower(2)
        self.scales = self.build_level_scales()
        self.label_smoothing = label_smoothing
        self.reg_loss_weight = reg_loss_weight
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_reg = MODELS.build(loss_reg)
        self._init_cls_bias(cls_prior_prob, empty_cls)

    def _init_cls_bias(self, prior_prob: float, empty_cls: Sequence[int]):
        init_cls_bias(self.cls_tower.out_conv.bias, prior_prob, empty_cls)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor]
                ) -> Tuple[List[Tensor], List[Tensor]]:
        """Args: per-level ``(B, C, T_l)`` features and ``(B, T_l)`` masks.

        Returns: ``cls_logits`` ``[(B, K, T_l)]``, ``reg_offsets``
        ``[(B, 2, T_l)]``.
        """
        if len(feats) != len(self.scales):
            raise ValueError(
                f'ActionFormerHead has {len(self.scales)} levels (from its '
                f'prior_generator) but received {len(feats)} feature levels.')
        cls_logits, reg_offsets = [], []
        for feat, mask, scale in zip(feats, masks, self.scales):
            m = mask[:, None].to(feat.dtype)
            cls_logits.append(self.cls_tower(feat, mask))
            reg_offsets.append(
                self.non_negative(scale(self.reg_tower(feat, mask))) * m)
        return cls_logits, reg_offsets

    @staticmethod
    def _flatten(level_outputs: Sequence[Tensor]) -> Tensor:
        """``[(B, X, T_l)]`` -> ``(B, sum T_l, X)``."""
        return torch.cat([o.transpose(1, 2) for o in level_outputs], dim=1)

    def loss_by_feat(self, cls_logits: Sequence[Tensor],
                     reg_offsets: Sequence[Tensor], masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        """Focal loss on valid points + DIoU on positives, both normalised
        by the EMA number of positives (ActionFormer Eq. 3)."""
        points = self.get_points(masks)
        cls_targets, reg_targets, pos_mask = self.get_targets(
            points, data_samples)
        valid = torch.cat(list(masks), dim=1)
        logits = self._flatten(cls_logits)
        offsets = self._flatten(reg_offsets)
        pos_mask = pos_mask & valid
        normalizer = self.update_loss_normalizer(pos_mask.sum())

        target = cls_targets[valid]
        if self.label_smoothing > 0:
            target = target * (1 - self.label_smoothing) + (
                self.label_smoothing / (self.num_classes + 1))
        loss_cls = self.loss_cls(logits[valid], target,
                                 avg_factor=normalizer)
        if pos_mask.any():
            loss_reg = self.loss_reg(offsets[pos_mask], reg_targets[pos_mask],
                                     avg_factor=normalizer)
        else:
            loss_reg = offsets.sum() * 0.0
        return dict(loss_cls=loss_cls,
                    loss_reg=self.reg_loss_weight * loss_reg)

    def decode_by_feat(self, cls_logits: Sequence[Tensor],
                       reg_offsets: Sequence[Tensor],
                       masks: Sequence[Tensor]
                       ) -> Tuple[List[Tensor], List[Tensor]]:
        """Per level: probabilities ``(B, T_l, K)`` and segments
        ``(B, T_l, 2)`` in grid units of the input."""
        points = self.get_points(masks)
        scores = [c.sigmoid().transpose(1, 2) for c in cls_logits]
        segments = [
            self.bbox_coder.decode(p[None], r.transpose(1, 2))
            for p, r in zip(points, reg_offsets)
        ]
        return scores, segments
