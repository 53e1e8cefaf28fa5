"""RCL as the second stage of a two-stage TAL detector.

The RCL paper (Wang et al., "RCL: Recurrent Continuous Localization for
Temporal Action Detection", CVPR 2022) plugs its continuous anchoring
representation into detectors whose proposals come from a grid (BMN, G-TAD:
:class:`~mmtal_zoom.models.detectors.BMNRCL`). In a
:class:`~mmtal_zoom.models.detectors.TwoStageTALDetector` the same parts
refine the proposals of any dense first-stage head (e.g. the
``ActionFormerHead`` baseline):

1. the first stage runs unchanged (its own losses) and hands over its best
   candidates per video (:meth:`BaseTALHead.predict_proposals`: class
   probabilities and segments in grid units);
2. :class:`RCLHead` samples the features of one pyramid level at the
   proposals' continuous coordinates, predicts tIoU confidences and boundary
   offsets, and refines them with the recurrent refine module;
3. each proposal keeps its class probabilities, multiplied by RCL's
   confidence ``p^1 p^2`` (``score_power`` sets how much), with the refined
   boundaries; the detector then runs the first stage's per-video
   post-processing (threshold, top-k, Soft-NMS, grid -> seconds) on them.

Training adds RCL's losses (Eq. 5-8) on the sampler's scale-invariant
samples around the ground truth plus the first stage's (detached)
proposals, so the refiner learns on the distribution it sees at test time.

Coordinates: a grid position ``g`` (input snippet units, see
``structures/time_grid.py``) on a level of stride ``s`` and padded length
``T_l`` is ``x = (g / s + 0.5) / T_l`` in RCL's normalised coordinates.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS

DEFAULT_REFINER = dict(
    type='RCLHead',
    feat_channels=64,
    embed_channels=128,
    num_freqs=0,  # absolute position means nothing on padded sequences
    # no grid: the queries are the first stage's proposals (+ samples
    # around the ground truth at training time)
    sampler=dict(type='RCLSampler', use_grid=False, use_random=False,
                 use_gt=True, num_per_gt=64, gt_std_ratio=0.25),
    refine=dict(type='RecurrentRefineModule', hidden_channels=64,
                num_iters=4),
    num_refine_queries=256)


@MODELS.register_module()
class RCLRoIHead(BaseModule):
    """Refine a first stage's proposals with RCL (second stage).

    Args:
        refiner (dict, optional): :class:`RCLHead` config merged over
            ``DEFAULT_REFINER``; ``in_channels`` is required (the channels
            of the refined level; :class:`TwoStageTALDetector` fills it from
            the first stage's ``in_channels``).
        stride (float, optional): stride of the refined pyramid level in
            grid units (:class:`TwoStageTALDetector` fills it from the first
            stage's prior generator).
        refine_level (int): pyramid level whose features RCL samples.
        score_power (float): final score = class probability * (RCL
            confidence) ** score_power.
        init_cfg (dict, optional): weight initialisation.
    """

    def __init__(self,
                 refiner: Optional[dict] = None,
                 stride: Optional[float] = None,
                 refine_level: int = 0,
                 score_power: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        cfg = {**DEFAULT_REFINER, **(refiner or {})}
        if cfg.get('in_channels') is None:
            raise ValueError('RCLRoIHead: give refiner.in_channels (the '
                             'channels of the refined level)')
        self.refiner = MODELS.build(cfg)
        self.stride = 1.0 if stride is None else float(stride)
        self.refine_level = refine_level
        self.score_power = score_power

    def _to_norm(self, grid: Tensor, length: int) -> Tensor:
        return (grid / self.stride + 0.5) / length

    def _to_grid(self, norm: Tensor, length: int) -> Tensor:
        return (norm * length - 0.5) * self.stride

    def _min_lengths(self, data_samples, length: int) -> List[float]:
        """One frame: ``1 / feat_stride`` grid units, normalised."""
        return [
            1.0 / (float(s.metainfo.get('feat_stride', 1.0)) * length /
                   self.stride) for s in data_samples
        ]

    def loss(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
             proposals: Sequence[InstanceData],
             data_samples: Sequence) -> Dict[str, Tensor]:
        """RCL's losses (``loss_rcl_*``) on the sampler's queries plus the
        (valid) proposals."""
        x, mask = feats[self.refine_level], masks[self.refine_level]
        length = x.shape[-1]
        extra = [self._to_norm(p.segments[p.valid], length)
                 for p in proposals]
        gts = [
            self._to_norm(s.gt_instances.segments.to(x), length)
            for s in data_samples
        ]
        return self.refiner.loss(
            x, gts, masks=mask,
            min_lengths=self._min_lengths(data_samples, length),
            extra_queries=extra)

    def predict(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                proposals: Sequence[InstanceData],
                data_samples: Sequence) -> List[InstanceData]:
        """Refined proposals per video: ``cls_scores (k, K)`` (class
        probability x confidence ** ``score_power``), ``segments (k, 2)``
        grid units, ``valid (k,)``; not yet post-processed."""
        x, mask = feats[self.refine_level], masks[self.refine_level]
        length = x.shape[-1]
        scores = torch.stack([p.cls_scores for p in proposals])
        segments = torch.stack([p.segments for p in proposals])
        queries = self._to_norm(segments, length).clamp(0, 1)
        min_len = x.new_tensor(self._min_lengths(data_samples, length))
        segments, conf, _ = self.refiner.refine_queries(
            x, queries, masks=mask, min_lengths=min_len)
        fused = scores * conf[..., None].clamp(min=0)**self.score_power
        refined = self._to_grid(segments, length)
        return [
            InstanceData(cls_scores=fused[i], segments=refined[i],
                         valid=p.valid) for i, p in enumerate(proposals)
        ]
