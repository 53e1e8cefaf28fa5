"""RCL as a second-stage proposal refiner for any dense TAL head.

The RCL paper plugs its continuous anchoring representation into detectors
whose proposals come from a grid (BMN, G-TAD). On mmtal_zoom's single-stage
``TALDetector`` the same parts refine the proposals of the first-stage head
(e.g. the ``ActionFormerHead`` baseline):

1. the wrapped head runs unchanged (its own losses, its own decoding);
2. its best candidates (top ``num_test_proposals`` points per video by class
   probability) become continuous segment queries for :class:`RCLHead`,
   which samples the features of one pyramid level at their continuous
   coordinates, predicts tIoU confidences and boundary offsets, and refines
   them with the recurrent refine module;
3. each candidate keeps its class probabilities, multiplied by RCL's
   confidence ``p^1 p^2`` (``score_power`` sets how much), with the refined
   boundaries; then the wrapped head's own post-processing (threshold,
   top-k, Soft-NMS, grid -> seconds) runs on them.

Training adds RCL's losses (Eq. 5-8) on the sampler's scale-invariant
samples around the ground truth plus the first stage's (detached) top
candidates, so the refiner learns on the distribution it sees at test time.

Coordinates: a grid position ``g`` (input snippet units, see
``structures/time_grid.py``) on a level of stride ``s`` and padded length
``T_l`` is ``x = (g / s + 0.5) / T_l`` in RCL's normalised coordinates.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS
from .tal_head_wrapper import TALHeadWrapper

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
class RCLRefinedHead(TALHeadWrapper):
    """A dense TAL head whose proposals RCL refines (second stage).

    Args:
        head (dict): the first-stage head (a ``BaseTALHead``, e.g.
            ``ActionFormerHead``), built as ``self.inner_head``.
        refiner (dict, optional): :class:`RCLHead` config merged over
            ``DEFAULT_REFINER``; ``in_channels`` defaults to
            ``head.in_channels``.
        refine_level (int): pyramid level whose features RCL samples.
        num_train_proposals (int): first-stage candidates per video added to
            RCL's training queries.
        num_test_proposals (int): candidates per video refined at test time.
        score_power (float): final score = class probability * (RCL
            confidence) ** score_power.
        init_cfg (dict, optional): weight initialisation.
    """

    def __init__(self,
                 head: dict,
                 refiner: Optional[dict] = None,
                 refine_level: int = 0,
                 num_train_proposals: int = 256,
                 num_test_proposals: int = 1000,
                 score_power: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(head, init_cfg=init_cfg)
        cfg = {**DEFAULT_REFINER, **(refiner or {})}
        cfg.setdefault('in_channels', head.get('in_channels'))
        if cfg['in_channels'] is None:
            raise ValueError('RCLRefinedHead: give refiner.in_channels (the '
                             'channels of the refined level)')
        self.refiner = MODELS.build(cfg)
        self.refine_level = refine_level
        self.num_train_proposals = num_train_proposals
        self.num_test_proposals = num_test_proposals
        self.score_power = score_power

    legacy_prefix = 'head'

    def _stride(self) -> float:
        strides = getattr(self.inner_head.prior_generator, 'strides', None)
        return float(strides[self.refine_level]) if strides else 1.0

    # ------------------------------------------------------------------
    def _candidates(self, outs, masks, k: int):
        """Top-``k`` first-stage candidates per video: class probabilities
        ``(B, k, K)``, segments ``(B, k, 2)`` grid units."""
        scores, segments = self.inner_head.decode_by_feat(*outs, masks=masks)
        scores = torch.cat(list(scores), dim=1)
        segments = torch.cat(list(segments), dim=1)
        valid = torch.cat(list(masks), dim=1)
        best = scores.max(-1).values.masked_fill(~valid, -1.0)
        k = min(k, best.shape[1])
        idx = best.topk(k, dim=1).indices
        scores = scores.gather(1, idx[..., None].expand(-1, -1,
                                                        scores.shape[-1]))
        segments = segments.gather(1, idx[..., None].expand(-1, -1, 2))
        return scores, segments, valid.gather(1, idx)

    def _to_norm(self, grid: Tensor, length: int) -> Tensor:
        return (grid / self._stride() + 0.5) / length

    def _to_grid(self, norm: Tensor, length: int) -> Tensor:
        return (norm * length - 0.5) * self._stride()

    def _min_lengths(self, data_samples, length: int) -> List[float]:
        """One frame: ``1 / feat_stride`` grid units, normalised."""
        return [
            1.0 / (float(s.metainfo.get('feat_stride', 1.0)) *
                   length / self._stride()) for s in data_samples
        ]

    def loss(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
             data_samples: Sequence) -> Dict[str, Tensor]:
        outs = self(feats, masks)
        losses = self.inner_head.loss_by_feat(*outs, masks=masks,
                                              data_samples=data_samples)
        x, mask = feats[self.refine_level], masks[self.refine_level]
        length = x.shape[-1]
        with torch.no_grad():
            _, proposals, valid = self._candidates(
                outs, masks, self.num_train_proposals)
        extra = [self._to_norm(p[v], length)
                 for p, v in zip(proposals, valid)]
        gts = [
            self._to_norm(s.gt_instances.segments.to(x), length)
            for s in data_samples
        ]
        losses.update(
            self.refiner.loss(x, gts, masks=mask,
                              min_lengths=self._min_lengths(
                                  data_samples, length),
                              extra_queries=extra))
        return losses

    def predict(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                data_samples: Sequence) -> List[InstanceData]:
        outs = self(feats, masks)
        scores, proposals, valid = self._candidates(outs, masks,
                                                    self.num_test_proposals)
        x, mask = feats[self.refine_level], masks[self.refine_level]
        length = x.shape[-1]
        queries = self._to_norm(proposals, length).clamp(0, 1)
        min_len = x.new_tensor(self._min_lengths(data_samples, length))
        segments, conf, _ = self.refiner.refine_queries(
            x, queries, masks=mask, min_lengths=min_len)
        fused = scores * conf[..., None].clamp(min=0)**self.score_power
        refined = self._to_grid(segments, length)
        return [
            self.inner_head.predict_by_feat_single(fused[i], refined[i],
                                                   valid[i], sample.metainfo)
            for i, sample in enumerate(data_samples)
        ]
