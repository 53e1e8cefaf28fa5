"""Cross-Layer Task Decoupling and Refinement decoder of CLTDR-GMG (Li et
al., AAAI 2025, Sec. "Decoder with CLTDR", Eq. 5-13, Fig. 2 and 4)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmaction.registry import MODELS
from ...utils.dist import reduce_mean
from ..layers.conv_tower import init_cls_bias
from ..layers.cross_layer_fusion import (FUSIONS, LAYER_OFFSETS,
                                         CrossLayerFeatureFusion,
                                         CrossLayerFusion, check_layers,
                                         fit_length, fuse_neighbours,
                                         masked_mean)
from ..layers.trident import refine_trident_distances, trident_distances
from ..losses.iou_loss import iou_1d_loss
from ..task_modules.iou_aware_targets import (iou_aware_cls_targets,
                                              positive_pairs)
from .conv_tower_head import ConvTowerHead

REFINE_SCORES = ('sqrt', 'logit_product')
EDGE_LEVELS = ('plain', 'available')
CLS_TARGETS = ('iou', 'binary')
NORMALIZATIONS = ('pos_neg', 'ema')
BOUNDARY_FEATS = ('reg', 'pyramid')

# the cross-layer fusion blocks live in models/layers/cross_layer_fusion.py;
# their names stay importable from here
__all__ = ['CLTDRHead', 'CrossLayerFusion', 'CrossLayerFeatureFusion',
           'check_layers', 'fit_length', 'masked_mean', 'FUSIONS',
           'LAYER_OFFSETS', 'REFINE_SCORES', 'EDGE_LEVELS', 'CLS_TARGETS',
           'NORMALIZATIONS', 'BOUNDARY_FEATS']


@MODELS.register_module()
class CLTDRHead(ConvTowerHead):
    """CLTDR decoder: cross-layer task decoupling, Trident regression and
    refinement, with the varifocal + IoU loss of Eq. 13.

    Per pyramid level ``l`` (parameters shared by all levels):

    1. **DCM** (Eq. 5-6): ``f_cls = P^l + up(P^{l+1}) * W_{l+1}``; a conv
       tower (2 x conv + LN + ReLU, then a conv) gives class logits ``a``
       (``â = sigmoid(a)``).
    2. **DRM** (Eq. 7-8): ``f_reg = P^l + down(P^{l-1}) * W_{l-1}`` feeds a
       Trident head (:func:`trident_distances`): centre-offset bins (tower
       on ``f_reg``, per-level ``Scale`` then ReLU, as TriDet), start and
       end evidence (towers on ``f_reg``, or on the detached pyramid
       feature as TriDet / the official code), boundary distances
       ``(ŝ, ê)`` as expectations over ``num_bins + 1`` bins.
    3. **RefineHead** (Eq. 9-12): ``f_c = CLFF(P^{l-1}, P^l, P^{l+1})``; a
       tower gives ``R_co`` (logits ``r``), another the offsets ``R_so``,
       ``R_eo``; refined score ``â^r = sqrt(â * sigmoid(r))`` (Eq. 10,
       ``refine_score='sqrt'``) or ``sigmoid(a * r)`` (the official code's
       product of raw logits, ``'logit_product'``); refined boundaries
       ``ŝ^r = ŝ + R_so``, ``ê^r = ê + R_eo`` (Eq. 11-12), with offsets in
       units of the level's stride (the paper leaves the unit open).

    **Which layers each task combines** (Table 9). ``cls_layers`` and
    ``reg_layers`` list the pyramid layers, as offsets from ``l``, that the
    classification and the regression feature combine: ``1`` = ``P^{l+1}``,
    ``0`` = ``P^l``, ``-1`` = ``P^{l-1}``. The paper's model is
    ``cls_layers=[1, 0]`` (DCM) and ``reg_layers=[0, -1]`` (DRM); Table 9
    also tries ``[0]``, the other neighbour, and all three, for either task.
    A neighbour is fused as Eq. 5-8 fuse theirs (coarser: transposed conv,
    finer: stride-2 conv, each with its own attention weight and its own
    parameters per task). With both neighbours the paper does not say how
    they are combined; own design: ``f = P^l + f_{l+1} * W_{l+1} + f_{l-1}
    * W_{l-1}``, each ``W`` from Eq. 5 / 7 (``fusion='add'``: the plain
    sum; ``'concat'`` takes one neighbour per task, as in Table 11).
    ``use_dcm=False`` is ``cls_layers=[0]`` and ``use_drm=False`` is
    ``reg_layers=[0]``. The RefineHead's CLFF (Eq. 9) always combines all
    three layers.

    **Top and bottom levels.** The paper applies CLTDR "exclusively to
    intermediate feature layers" because the top level has no ``P^{l+1}``
    and the bottom level no ``P^{l-1}``. With ``edge_levels='plain'``
    (default, the paper's reading) the top and bottom levels use no
    cross-layer fusion at all (``f_cls = f_reg = f_c = P^l``) but are still
    decoded by the same shared towers (classification, Trident, refinement),
    so every level predicts. ``'available'`` fuses the neighbour that
    exists (DCM at the bottom, DRM at the top, the existing half of CLFF).

    **Loss** (Eq. 13), over valid points; positives by centre sampling +
    regression ranges (``CenterSamplingAssigner``)::

        L = 1/N_pos sum_pos (sigma_IoU^p * VFL + L_IoU) + 1/N_neg sum_neg VFL

    with the IoU-aware VFL target ``q = IoU(predicted, ground truth)`` at the
    ground-truth class of positives (``cls_target='iou'``; ``'binary'``:
    ``q = 1``, the official code), ``sigma_IoU^p`` weighting those elements
    (``iou_weight_power``: 1 in Eq. 13, 0.2 in the authors' configs), and a
    1-D GIoU / DIoU loss on the refined distances. ``loss_normalization=
    'pos_neg'`` divides positive and negative terms by ``N_pos`` and
    ``N_neg`` as in the equation; ``'ema'`` divides everything by an EMA of
    ``N_pos`` (official code). ``pre_refine_loss_weight > 0`` adds the
    official code's supervision of the pre-refinement outputs (focal loss on
    ``a`` + IoU loss on ``(ŝ, ê)``), total ``refined_loss_weight * L_refined
    + pre_refine_loss_weight * L_pre`` (official: 0.7 / 0.3).

    Args:
        num_bins (int): Trident bins ``n`` (THUMOS14: 16).
        boundary_kernel_size (int): kernel of the start / end towers.
        boundary_per_class (bool): start / end evidence and refinement
            offsets per class (TriDet / official) instead of one per position
            (the paper's ``ŝ^l in R^{T^l}``).
        boundary_feat (str): ``'reg'`` (the start / end towers read
            ``f_reg``, paper) or ``'pyramid'`` (``P^l``, official / TriDet).
        detach_boundary_feat (bool): stop gradients from the start / end
            towers into their input feature (TriDet).
        fusion (str): DCM / DRM fusion, ``'attention'`` (paper) |
            ``'add'`` | ``'concat'`` (Table 11).
        cls_layers (Sequence[int]): layers the classification feature
            combines, offsets of ``(1, 0, -1)``; default ``(1, 0)`` (DCM,
            paper). See above (Table 9).
        reg_layers (Sequence[int]): the same for regression; default
            ``(0, -1)`` (DRM, paper).
        use_dcm, use_drm (bool): cross-layer fusion for classification /
            regression on or off; off means ``P^l`` alone, i.e.
            ``cls_layers`` / ``reg_layers`` = ``[0]`` (Table 9's first row).
        refine_cls, refine_reg (bool): refinement of the scores / boundaries
            (Table 10).
        refine_score (str): ``'sqrt'`` (Eq. 10) | ``'logit_product'``.
        refine_kernel_size (int): kernel of the refinement offset tower
            (official: 7).
        edge_levels (str): ``'plain'`` | ``'available'``, see above.
        cls_prior_prob (float): initial foreground probability.
        empty_cls (Sequence[int]): classes never predicted.
        loss_cls (dict): varifocal loss config. This head multiplies the
            positives' loss by ``sigma_IoU^p`` itself (Eq. 13); with
            ``iou_weighted=True`` (VFNet's loss as written, the default) the
            loss also weights them by ``q``: ``q sigma_IoU^p BCE``, ``q^2 BCE``
            at ``p = 1``. ``iou_weighted=False`` gives ``sigma_IoU^p BCE``
            (an earlier reading, kept as an option).
        loss_reg (dict): IoU loss config (``IoU1DLoss``; paper GIoU,
            official DIoU).
        cls_target (str): ``'iou'`` | ``'binary'``.
        iou_weight_power (float): power ``p`` of ``sigma_IoU``.
        loss_normalization (str): ``'pos_neg'`` | ``'ema'``.
        reg_loss_weight (float): weight of ``L_IoU``.
        refined_loss_weight, pre_refine_loss_weight (float): see above.
        loss_pre_cls (dict): classification loss of the pre-refinement
            outputs (official: focal).
        **kwargs: ``num_classes``, ``in_channels`` (``D`` of every pyramid
            level), ``feat_channels``, ``num_convs`` (2: the RefineHead's
            "three convolutional blocks", the DCM's "three 1D
            convolutions"), ``kernel_size``, ``with_ln`` and ``assigner`` of
            :class:`ConvTowerHead`; ``prior_generator``, ``bbox_coder``,
            ``loss_normalizer``, ``test_cfg``... of :class:`BaseTALHead`.

    Outputs of :meth:`forward` (lists over levels): ``cls_logits`` ``(B, K,
    T_l)`` (DCM), ``refine_logits`` ``(B, K, T_l)`` (``R_co``, ``None`` when
    off), ``offset_logits`` ``(B, 2 (n + 1), T_l)``, ``start_logits`` /
    ``end_logits`` ``(B, K_b, T_l)``, ``refine_offsets`` ``(B, 2 K_b, T_l)``
    (``None`` when off), with ``K_b = K`` if ``boundary_per_class`` else 1.
    """

    def __init__(self,
                 num_bins: int = 16,
                 boundary_kernel_size: int = 3,
                 boundary_per_class: bool = False,
                 boundary_feat: str = 'reg',
                 detach_boundary_feat: bool = True,
                 fusion: str = 'attention',
                 cls_layers: Sequence[int] = (1, 0),
                 reg_layers: Sequence[int] = (0, -1),
                 use_dcm: bool = True,
                 use_drm: bool = True,
                 refine_cls: bool = True,
                 refine_reg: bool = True,
                 refine_score: str = 'sqrt',
                 refine_kernel_size: int = 3,
                 edge_levels: str = 'plain',
                 cls_prior_prob: float = 0.01,
                 empty_cls: Sequence[int] = (),
                 loss_cls: dict = dict(type='VarifocalLoss', alpha=0.75,
                                       gamma=2.0, iou_weighted=True),
                 loss_reg: dict = dict(type='IoU1DLoss', mode='giou'),
                 cls_target: str = 'iou',
                 iou_weight_power: float = 1.0,
                 loss_normalization: str = 'pos_neg',
                 reg_loss_weight: float = 1.0,
                 refined_loss_weight: float = 1.0,
                 pre_refine_loss_weight: float = 0.0,
                 loss_pre_cls: dict = dict(type='SigmoidFocalLoss'),
                 **kwargs):
        super().__init__(**kwargs)
        num_classes, in_channels = self.num_classes, self.in_channels
        for name, value, allowed in (
            ('refine_score', refine_score, REFINE_SCORES),
            ('edge_levels', edge_levels, EDGE_LEVELS),
            ('cls_target', cls_target, CLS_TARGETS),
            ('loss_normalization', loss_normalization, NORMALIZATIONS),
            ('boundary_feat', boundary_feat, BOUNDARY_FEATS),
            ('fusion', fusion, FUSIONS),
        ):
            if value not in allowed:
                raise ValueError(f'CLTDRHead {name} must be one of '
                                 f'{allowed}, got {value!r}.')
        if num_bins < 1:
            raise ValueError(f'num_bins must be >= 1, got {num_bins}.')
        self.num_bins = num_bins
        self.num_boundary = num_classes if boundary_per_class else 1
        self.boundary_feat = boundary_feat
        self.detach_boundary_feat = detach_boundary_feat
        self.use_dcm, self.use_drm = use_dcm, use_drm
        self.cls_layers = check_layers('cls_layers',
                                       cls_layers if use_dcm else (0, ))
        self.reg_layers = check_layers('reg_layers',
                                       reg_layers if use_drm else (0, ))
        for name, layers in (('cls_layers', self.cls_layers),
                             ('reg_layers', self.reg_layers)):
            if fusion == 'concat' and len(layers) == 3:
                raise ValueError(
                    f"CLTDRHead fusion='concat' fuses one neighbour per task "
                    f'(Table 11); {name}={list(layers)} has two neighbours: '
                    "use 'attention' or 'add'.")
        self.refine_cls, self.refine_reg = refine_cls, refine_reg
        self.refine_score = refine_score
        self.edge_levels = edge_levels
        self.cls_target = cls_target
        self.iou_weight_power = iou_weight_power
        self.loss_normalization = loss_normalization
        self.reg_loss_weight = reg_loss_weight
        self.refined_loss_weight = refined_loss_weight
        self.pre_refine_loss_weight = pre_refine_loss_weight

        # DCM / DRM / CLFF: one module shared by every level; a task's
        # fusion module per neighbour it combines (Table 9), the paper's two
        # under their paper names
        if 1 in self.cls_layers:
            self.dcm = CrossLayerFusion(in_channels, 'up', fusion)
        if -1 in self.reg_layers:
            self.drm = CrossLayerFusion(in_channels, 'down', fusion)
        self.clff = CrossLayerFeatureFusion(in_channels)
        if -1 in self.cls_layers:
            self.dcm_lower = CrossLayerFusion(in_channels, 'down', fusion)
        if 1 in self.reg_layers:
            self.drm_higher = CrossLayerFusion(in_channels, 'up', fusion)
        self.fusion = fusion
        self.cls_tower = self.build_tower(num_classes)
        self.offset_tower = self.build_tower(2 * (num_bins + 1))
        self.start_tower = self.build_tower(self.num_boundary,
                                            boundary_kernel_size)
        self.end_tower = self.build_tower(self.num_boundary,
                                          boundary_kernel_size)
        self.scales = self.build_level_scales()
        if refine_cls:
            self.refine_cls_tower = self.build_tower(num_classes)
        if refine_reg:
            self.refine_reg_tower = self.build_tower(2 * self.num_boundary,
                                                     refine_kernel_size)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_reg = MODELS.build(loss_reg)
        self.loss_pre_cls = (MODELS.build(loss_pre_cls)
                             if pre_refine_loss_weight > 0 else None)
        self._init_weights(cls_prior_prob, empty_cls)

    def _init_weights(self, prior_prob: float, empty_cls: Sequence[int]):
        biases = [self.cls_tower.out_conv.bias]
        if self.refine_cls and self.refine_score == 'sqrt':
            # sqrt(prior * prior) = prior at initialisation
            biases.append(self.refine_cls_tower.out_conv.bias)
        for bias in biases:
            init_cls_bias(bias, prior_prob, empty_cls)
        if self.refine_reg:  # refinement starts close to the identity
            with torch.no_grad():
                nn.init.normal_(self.refine_reg_tower.out_conv.weight,
                                std=0.01)
                self.refine_reg_tower.out_conv.bias.zero_()

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor]
                ) -> Tuple[List[Optional[Tensor]], ...]:
        """Args: per-level ``(B, D, T_l)`` features and ``(B, T_l)`` masks.

        Returns: ``cls_logits, refine_logits, offset_logits, start_logits,
        end_logits, refine_offsets`` (see the class docstring).
        """
        num_levels = len(feats)
        if num_levels != len(self.scales):
            raise ValueError(
                f'CLTDRHead has {len(self.scales)} levels (from its '
                f'prior_generator) but received {num_levels} feature levels.')
        outs = tuple([] for _ in range(6))
        for lvl, (feat, mask) in enumerate(zip(feats, masks)):
            m = mask[:, None].to(feat.dtype)
            lower = feats[lvl - 1] if lvl > 0 else None
            higher = feats[lvl + 1] if lvl < num_levels - 1 else None
            if self.edge_levels == 'plain' and (lower is None
                                                or higher is None):
                lower = higher = None
            f_cls = self._fuse(feat, mask, self._cls_fusions(), higher, lower)
            f_reg = self._fuse(feat, mask, self._reg_fusions(), higher, lower)
            b_feat = f_reg if self.boundary_feat == 'reg' else feat
            if self.detach_boundary_feat:
                b_feat = b_feat.detach()
            outs[0].append(self.cls_tower(f_cls, mask))
            outs[2].append(self.non_negative(
                self.scales[lvl](self.offset_tower(f_reg, mask))) * m)
            outs[3].append(self.start_tower(b_feat, mask))
            outs[4].append(self.end_tower(b_feat, mask))
            if self.refine_cls or self.refine_reg:
                f_c = self.clff(feat, mask, lower, higher)
            outs[1].append(
                self.refine_cls_tower(f_c, mask) if self.refine_cls else None)
            outs[5].append(
                self.refine_reg_tower(f_c, mask) if self.refine_reg else None)
        return outs

    def _cls_fusions(self) -> List[Tuple[int, nn.Module]]:
        return [(o, self.dcm if o == 1 else self.dcm_lower)
                for o in self.cls_layers if o != 0]

    def _reg_fusions(self) -> List[Tuple[int, nn.Module]]:
        return [(o, self.drm if o == -1 else self.drm_higher)
                for o in self.reg_layers if o != 0]

    def _fuse(self, feat: Tensor, mask: Tensor,
              fusions: Sequence[Tuple[int, nn.Module]],
              higher: Optional[Tensor], lower: Optional[Tensor]) -> Tensor:
        """``P^l`` combined with the neighbours of ``fusions`` that exist at
        this level (see "Which layers each task combines")."""
        return fuse_neighbours(feat, mask, fusions, higher, lower,
                               self.fusion)

    # ------------------------------------------------------------------
    # decoding shared by loss and prediction
    # ------------------------------------------------------------------
    def _refined_logits(self, cls_logits: Tensor,
                        refine_logits: Optional[Tensor]) -> Tensor:
        """Eq. 10 as a logit: ``logit(sqrt(sigmoid(a) sigmoid(r)))`` or the
        official ``a * r``; ``a`` when refinement is off."""
        if refine_logits is None:
            return cls_logits
        if self.refine_score == 'logit_product':
            return cls_logits * refine_logits
        # log p = (log sigmoid(a) + log sigmoid(r)) / 2, then the exact logit
        # log p - log(1 - p) with log(1 - p) = log(-expm1(log p)) (stable).
        log_p = 0.5 * (F.logsigmoid(cls_logits) + F.logsigmoid(refine_logits))
        log_p = log_p.clamp(max=-1e-6)
        return log_p - torch.log(-torch.expm1(log_p))

    def _distances(self, offset_logits: Tensor, start_logits: Tensor,
                   end_logits: Tensor, refine_offsets: Optional[Tensor]
                   ) -> Tuple[Tensor, Tensor]:
        """Trident distances before and after refinement (Eq. 11-12), each
        ``(B, T, K_b, 2)`` in strides."""
        dist = trident_distances(offset_logits, start_logits, end_logits,
                                 self.num_bins)
        if refine_offsets is None:
            return dist, dist
        return dist, refine_trident_distances(dist, refine_offsets,
                                              self.num_boundary)

    def _decode_levels(self, outs: Sequence[List]
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Concatenate levels: refined logits ``(B, P, K)``, pre-refinement
        logits ``(B, P, K)``, distances before / after refinement
        ``(B, P, K_b, 2)``."""
        refined, pre, d_pre, d_ref = [], [], [], []
        for cls, rcls, off, start, end, roff in zip(*outs):
            pre.append(cls.transpose(1, 2))
            refined.append(self._refined_logits(cls, rcls).transpose(1, 2))
            d0, d1 = self._distances(off, start, end, roff)
            d_pre.append(d0)
            d_ref.append(d1)
        return (torch.cat(refined, 1), torch.cat(pre, 1), torch.cat(d_pre, 1),
                torch.cat(d_ref, 1))

    # ------------------------------------------------------------------
    # loss (Eq. 13)
    # ------------------------------------------------------------------
    def loss_by_feat(self, cls_logits, refine_logits, offset_logits,
                     start_logits, end_logits, refine_offsets,
                     masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        """Eq. 13 on the refined outputs (+ the optional pre-refinement
        terms). Returns ``loss_cls``, ``loss_reg`` (and ``loss_cls_pre``,
        ``loss_reg_pre``)."""
        outs = (cls_logits, refine_logits, offset_logits, start_logits,
                end_logits, refine_offsets)
        logits, pre_logits, dist_pre, dist_ref = self._decode_levels(outs)
        points = self.get_points(masks)
        cls_t, reg_t, pos = self.get_targets(points, data_samples)
        valid = torch.cat(list(masks), dim=1)
        pos = pos & valid
        neg = valid & ~pos
        num_pos = pos.sum()
        if self.loss_normalization == 'ema':
            norm_pos = norm_neg = self.update_loss_normalizer(num_pos)
        else:
            norm_pos = max(reduce_mean(num_pos.float()).item(), 1.0)
            norm_neg = max(reduce_mean(neg.sum().float()).item(), 1.0)

        cls_pos, reg_pos = cls_t[pos], reg_t[pos]
        pred_d, target_d, flat_idx = positive_pairs(
            cls_pos, dist_ref[pos], reg_pos, self.num_boundary)
        with torch.no_grad():
            iou = (1.0 - iou_1d_loss(pred_d, target_d, mode='iou')).clamp(
                0.0, 1.0)
        q_pos, w_pos = iou_aware_cls_targets(
            cls_pos, iou, flat_idx, self.iou_weight_power, self.cls_target)

        if self.loss_normalization == 'pos_neg':
            loss_cls = self.loss_cls(
                logits[pos], q_pos, weight=w_pos, avg_factor=norm_pos)
            loss_cls = loss_cls + self.loss_cls(
                logits[neg], torch.zeros_like(logits[neg]),
                avg_factor=norm_neg)
        else:
            q = torch.zeros_like(logits)
            w = torch.ones_like(logits)
            q[pos], w[pos] = q_pos, w_pos
            loss_cls = self.loss_cls(logits[valid], q[valid],
                                     weight=w[valid], avg_factor=norm_pos)
        loss_reg = self._reg_loss(pred_d, target_d, norm_pos)
        losses = dict(
            loss_cls=self.refined_loss_weight * loss_cls,
            loss_reg=self.refined_loss_weight * loss_reg)

        if self.pre_refine_loss_weight > 0:
            pre_d, pre_t, _ = positive_pairs(cls_pos, dist_pre[pos], reg_pos,
                                             self.num_boundary)
            loss_cls_pre = self.loss_pre_cls(
                pre_logits[valid], cls_t[valid], avg_factor=norm_pos)
            losses['loss_cls_pre'] = self.pre_refine_loss_weight * loss_cls_pre
            losses['loss_reg_pre'] = self.pre_refine_loss_weight * (
                self._reg_loss(pre_d, pre_t, norm_pos))
        return losses

    def _reg_loss(self, pred: Tensor, target: Tensor,
                  normalizer: float) -> Tensor:
        if pred.shape[0] == 0:
            return pred.sum() * 0.0
        return self.reg_loss_weight * self.loss_reg(pred, target,
                                                    avg_factor=normalizer)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def decode_by_feat(self, cls_logits, refine_logits, offset_logits,
                       start_logits, end_logits, refine_offsets,
                       masks: Sequence[Tensor]
                       ) -> Tuple[List[Tensor], List[Tensor]]:
        """Per level: refined probabilities ``(B, T_l, K)`` and segments in
        grid units, ``(B, T_l, 2)`` (``(B, T_l, K, 2)`` with per-class
        boundaries)."""
        points = self.get_points(masks)
        scores, segments = [], []
        for lvl, pts in enumerate(points):
            logit = self._refined_logits(cls_logits[lvl], refine_logits[lvl])
            scores.append(logit.sigmoid().transpose(1, 2))
            _, dist = self._distances(offset_logits[lvl], start_logits[lvl],
                                      end_logits[lvl], refine_offsets[lvl])
            segs = self.bbox_coder.decode(pts[None, :, None], dist)
            segments.append(segs[:, :, 0] if self.num_boundary == 1 else segs)
        return scores, segments

    def predict_by_feat_single(self, scores: Tensor, segments: Tensor,
                               valid: Tensor, meta: dict,
                               level_sizes: Optional[Sequence[int]] = None
                               ) -> InstanceData:
        """Per-class boundaries: pick the segment of each candidate's class,
        then hand the candidates to the shared post-processing
        (threshold, top-k, NMS, seconds) of :class:`BaseTALHead`."""
        if segments.dim() == 2:
            return super().predict_by_feat_single(scores, segments, valid,
                                                  meta, level_sizes)
        num_classes = scores.shape[-1]
        probs = (scores * valid[:, None]).flatten()
        cand, cand_scores = self._select_candidates(probs, num_classes,
                                                    level_sizes)
        k = cand.numel()
        point = torch.div(cand, num_classes, rounding_mode='floor')
        label = cand % num_classes
        one_hot = scores.new_zeros(k, num_classes)
        one_hot[torch.arange(k, device=scores.device), label] = cand_scores
        return super().predict_by_feat_single(
            one_hot, segments[point, label], valid.new_ones(k), meta)
