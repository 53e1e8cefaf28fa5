"""The skeleton every temporal-localization head shares (mmdet's
BaseDenseHead).

A head owns its whole job:

* ``loss(feats, masks, data_samples)`` = ``forward`` then ``loss_by_feat``;
* ``predict(feats, masks, data_samples)`` = ``forward`` then
  ``predict_by_feat``, which asks the head to ``decode_by_feat`` its raw
  outputs into per-level class probabilities and segments (grid units), then
  loops ``predict_by_feat_single`` per video: score threshold, top-k,
  short-segment filter, (Soft-)NMS, conversion to seconds.

A new head writes ``forward``, ``loss_by_feat`` and ``decode_by_feat`` only.
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import TASK_UTILS
from ...structures import grid_to_seconds
from ...utils.dist import reduce_mean

DEFAULT_TEST_CFG = dict(
    pre_nms_thresh=0.001,  # drop candidates with a lower class probability
    pre_nms_topk=2000,  # keep this many candidates per video before NMS
    # ... per pyramid level (ActionFormer): coarse levels keep candidates
    # even when the finest level has thousands above the threshold
    topk_per_level=True,
    duration_thresh=0.05,  # drop segments shorter than this (grid units)
    nms=dict(method='gaussian', iou_threshold=0.1, sigma=0.5,
             min_score=0.001, max_num=200, class_agnostic=False),
)


def merge_test_cfg(defaults: dict, test_cfg: Optional[dict]) -> dict:
    """A head's inference settings: ``defaults`` updated by ``test_cfg``,
    whose ``nms`` dict updates the default ``nms`` key by key."""
    cfg = dict(defaults)
    cfg.update(test_cfg or {})
    cfg['nms'] = {**defaults['nms'], **cfg.get('nms', {})}
    return cfg


class BaseTALHead(BaseModule, metaclass=ABCMeta):
    """Base class of dense (per time step) temporal-localization heads.

    Args:
        num_classes (int): number of action classes ``K``.
        prior_generator (dict): config of the point generator
            (``PointGenerator1D``), shared by assignment and decoding.
        assigner (dict, optional): config of the label assigner.
        bbox_coder (dict): segment coder config.
        loss_normalizer (float): initial value of the EMA of the number of
            positives that normalizes the losses (ActionFormer).
        loss_normalizer_momentum (float): its momentum.
        test_cfg (dict, optional): inference settings, see
            ``DEFAULT_TEST_CFG``; missing keys take the defaults.
        init_cfg (dict, optional): weight initialisation.
    """

    def __init__(self,
                 num_classes: int,
                 prior_generator: dict,
                 assigner: Optional[dict] = None,
                 bbox_coder: dict = dict(type='SegmentDistanceCoder'),
                 loss_normalizer: float = 100.0,
                 loss_normalizer_momentum: float = 0.9,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.prior_generator = TASK_UTILS.build(prior_generator)
        self.assigner = TASK_UTILS.build(assigner) if assigner else None
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_normalizer = loss_normalizer
        self.loss_normalizer_momentum = loss_normalizer_momentum
        self.test_cfg = merge_test_cfg(DEFAULT_TEST_CFG, test_cfg)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
             data_samples: Sequence) -> Dict[str, Tensor]:
        outs = self(feats, masks)
        return self.loss_by_feat(*outs, masks=masks, data_samples=data_samples)

    @abstractmethod
    def loss_by_feat(self, *outs, masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        """Losses from the raw outputs of :meth:`forward`."""

    def get_points(self, masks: Sequence[Tensor]) -> List[Tensor]:
        """Per-level points ``(T_l, 4)`` for features of the given masks."""
        return self.prior_generator.grid_points(
            [m.shape[-1] for m in masks], device=masks[0].device)

    def get_targets(self, points: Sequence[Tensor], data_samples: Sequence
                    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Assign ground truth to the concatenated points of every video.

        Returns:
            tuple: ``cls_targets`` ``(B, P, K)``, ``reg_targets`` ``(B, P, 2)``
            (distances / stride), ``pos_mask`` ``(B, P)``.
        """
        concat_points = torch.cat(list(points), dim=0)
        cls_t, reg_t, pos_t = [], [], []
        for sample in data_samples:
            gt = sample.gt_instances
            segs = gt.segments.to(concat_points.device)
            labels = gt.labels.to(concat_points.device)
            c, r, p = self.assigner.assign(concat_points, segs, labels,
                                           self.num_classes)
            cls_t.append(c)
            reg_t.append(r)
            pos_t.append(p)
        return torch.stack(cls_t), torch.stack(reg_t), torch.stack(pos_t)

    def update_loss_normalizer(self, num_pos: Tensor) -> float:
        """EMA of the (all-process mean) number of positives; the divisor of
        the losses, as in ActionFormer."""
        num_pos = reduce_mean(num_pos.detach().float()).item()
        m = self.loss_normalizer_momentum
        self.loss_normalizer = m * self.loss_normalizer + (1 - m) * max(
            num_pos, 1.0)
        return self.loss_normalizer

    def loss_and_predict(self, feats: Sequence[Tensor],
                         masks: Sequence[Tensor], data_samples: Sequence,
                         num_proposals: int
                         ) -> Tuple[Dict[str, Tensor], List[InstanceData]]:
        """First stage of a two-stage detector (mmdetection's
        ``RPNHead.loss_and_predict``): this head's losses, and its best
        ``num_proposals`` candidates per video, detached
        (:meth:`predict_proposals`)."""
        outs = self(feats, masks)
        losses = self.loss_by_feat(*outs, masks=masks,
                                   data_samples=data_samples)
        with torch.no_grad():
            proposals = self.predict_proposals(outs, masks, num_proposals)
        return losses, proposals

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                data_samples: Sequence) -> List[InstanceData]:
        outs = self(feats, masks)
        return self.predict_by_feat(
            *outs, masks=masks, data_samples=data_samples)

    def predict_proposals(self, outs: Sequence, masks: Sequence[Tensor],
                          num_proposals: int) -> List[InstanceData]:
        """The best ``num_proposals`` decoded points per video by their top
        class probability, before any threshold or NMS: the proposals a
        second stage refines.

        Returns:
            list[InstanceData]: per video ``segments (k, 2)`` grid units,
            ``cls_scores (k, K)`` class probabilities and ``valid (k,)``
            bool (``k = min(num_proposals, P)``, the same for every video;
            padded points rank last and are marked invalid).
        """
        scores, segments = self.decode_by_feat(*outs, masks=masks)
        scores = torch.cat(list(scores), dim=1)
        segments = torch.cat(list(segments), dim=1)
        valid = torch.cat(list(masks), dim=1)
        best = scores.max(-1).values.masked_fill(~valid, -1.0)
        k = min(int(num_proposals), best.shape[1])
        idx = best.topk(k, dim=1).indices
        scores = scores.gather(1, idx[..., None].expand(-1, -1,
                                                        scores.shape[-1]))
        segments = segments.gather(1, idx[..., None].expand(-1, -1, 2))
        valid = valid.gather(1, idx)
        return [
            InstanceData(segments=segments[i], cls_scores=scores[i],
                         valid=valid[i]) for i in range(len(segments))
        ]

    @abstractmethod
    def decode_by_feat(self, *outs, masks: Sequence[Tensor]
                       ) -> Tuple[List[Tensor], List[Tensor]]:
        """Raw outputs -> per-level class probabilities ``(B, T_l, K)`` and
        segments ``(B, T_l, 2)`` in grid units of the input sequence."""

    def predict_by_feat(self, *outs, masks: Sequence[Tensor],
                        data_samples: Sequence) -> List[InstanceData]:
        scores, segments = self.decode_by_feat(*outs, masks=masks)
        level_sizes = [s.shape[1] for s in scores]
        scores = torch.cat(list(scores), dim=1)  # (B, P, K)
        segments = torch.cat(list(segments), dim=1)  # (B, P, 2)
        valid = torch.cat(list(masks), dim=1)  # (B, P)
        return [
            self.predict_by_feat_single(scores[i], segments[i], valid[i],
                                        sample.metainfo, level_sizes)
            for i, sample in enumerate(data_samples)
        ]

    def _select_candidates(self, probs: Tensor, num_classes: int,
                           level_sizes: Optional[Sequence[int]]
                           ) -> Tuple[Tensor, Tensor]:
        """Flat ``(point, class)`` indices above ``pre_nms_thresh``, the
        ``pre_nms_topk`` best per level (``topk_per_level`` and
        ``level_sizes`` given) or overall, and their scores."""
        cfg = self.test_cfg
        if not (cfg.get('topk_per_level') and level_sizes):
            level_sizes = [probs.numel() // num_classes]
        cands, cand_scores, start = [], [], 0
        for size in level_sizes:
            level = probs[start * num_classes:(start + size) * num_classes]
            idx = (level > cfg['pre_nms_thresh']).nonzero().squeeze(1)
            k = min(int(cfg['pre_nms_topk']), idx.numel())
            top, order = level[idx].topk(k)
            cands.append(idx[order] + start * num_classes)
            cand_scores.append(top)
            start += size
        return torch.cat(cands), torch.cat(cand_scores)

    def predict_by_feat_single(self, scores: Tensor, segments: Tensor,
                               valid: Tensor, meta: dict,
                               level_sizes: Optional[Sequence[int]] = None
                               ) -> InstanceData:
        """One video: threshold, top-k, NMS, grid -> seconds.

        Args:
            scores (Tensor): ``(P, K)`` probabilities.
            segments (Tensor): ``(P, 2)`` grid units.
            valid (Tensor): ``(P,)`` bool.
            meta (dict): the sample's metainfo (``fps``, ``feat_stride``,
                ``num_frames``, ``duration``, ``feat_offset``).
            level_sizes (Sequence[int], optional): points of each pyramid
                level in ``scores`` (for ``topk_per_level``).
        """
        from ...structures import multiclass_segment_nms
        cfg = self.test_cfg
        num_classes = scores.shape[-1]
        probs = (scores * valid[:, None]).flatten()
        cand, cand_scores = self._select_candidates(probs, num_classes,
                                                    level_sizes)
        pt_idx = torch.div(cand, num_classes, rounding_mode='floor')
        labels = cand % num_classes
        segs = segments[pt_idx]
        long_enough = (segs[:, 1] - segs[:, 0]) > cfg['duration_thresh']
        segs, cand_scores = segs[long_enough], cand_scores[long_enough]
        labels = labels[long_enough]
        segs, cand_scores, labels = multiclass_segment_nms(
            segs, cand_scores, labels, cfg['nms'])
        segs = grid_to_seconds(
            segs + float(meta.get('feat_offset', 0)),
            fps=float(meta['fps']),
            feat_stride=float(meta['feat_stride']),
            num_frames=float(meta['num_frames']),
            duration=float(meta['duration']))
        return InstanceData(segments=segs, scores=cand_scores, labels=labels)
