"""Any detection head + Boundary Distance Regression (BDR) snapping.

Temporal Zoom Networks (Shihab et al.) present BDR as retrofittable to existing
detectors. ``BDRRefinedHead`` does it by composition, so that
``TALDetector`` stays backbone -> neck -> head:

* it owns a ``base_head`` (``ActionFormerHead``, ``CLTDRHead``, any
  :class:`BaseTALHead`) and a BDR branch (:class:`BDRHead`);
* ``forward`` = the base head's raw outputs followed by the BDR field:
  ``(*base_outs, [(B, 2, T_0)])`` — the base head's outputs keep their
  positions, so a uniform-depth teacher's outputs line up for distillation;
* ``loss`` = the base head's losses + ``loss_bdr``;
* ``predict`` = the base head's decoding, then every candidate's start and
  end are moved to the nearest BDR zero crossing (start field / end field)
  within ``snap_window`` grid units, the original kept where there is none,
  then the base head's own per-video post-processing (threshold, top-k,
  NMS, seconds). Snapping before NMS lets NMS merge candidates that snapped
  to the same boundaries;
* ``boundary_source='crossings'`` (own design; the paper names the zero
  crossings as the boundaries, not how a detector uses them) makes BDR the
  boundary source in its own right: the candidates are all pairs of a start
  and a later end crossing (at most ``max_length`` grid units apart), each
  scored per class by the base head's classifier (``pair_score``: its best
  probability over levels at the pair's centre, or its mean over the
  finest level's points inside the pair), then the same post-processing.
  The base head's own segments are not used.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS
from ..task_modules.zero_crossing import (crossing_pairs,
                                          segment_centre_scores,
                                          segment_mean_scores,
                                          snap_to_zero_crossings)
from .tal_head_wrapper import TALHeadWrapper

BOUNDARY_SOURCES = ('snap', 'crossings')
PAIR_SCORES = ('centre', 'mean')


@MODELS.register_module()
class BDRRefinedHead(TALHeadWrapper):
    """A detection head whose boundaries are snapped to BDR zero crossings.

    Args:
        base_head (dict): config of any :class:`BaseTALHead` (built as
            ``self.inner_head``).
        bdr (dict): config of a :class:`BDRHead`; its ``stride`` defaults
            to the base head's stride of the BDR level.
        snap_window (float): maximum move of a boundary, grid units;
            ``0`` disables snapping (BDR then only acts as an auxiliary
            loss).
        snap (bool): snap at inference (False: auxiliary loss only).
        boundary_source (str): ``'snap'`` (the retrofit above) or
            ``'crossings'`` (segments from zero-crossing pairs alone,
            scored by the base head's classifier; own design).
        max_length (float, optional): longest crossing pair, grid units
            (default: the whole sequence).
        pair_score (str): how ``'crossings'`` scores a pair: ``'centre'``
            (:func:`segment_centre_scores`) or ``'mean'``
            (:func:`segment_mean_scores`, finest level).
        init_cfg (dict, optional): weight initialisation.

    ``num_classes``, ``prior_generator``, ``test_cfg`` and the per-video
    post-processing are the base head's (:class:`TALHeadWrapper`).
    """

    legacy_prefix = 'base_head'

    def __init__(self, base_head: dict, bdr: dict,
                 snap_window: float = 2.0, snap: bool = True,
                 boundary_source: str = 'snap',
                 max_length: Optional[float] = None,
                 pair_score: str = 'centre', init_cfg=None):
        super().__init__(base_head, init_cfg=init_cfg)
        bdr = dict(bdr)
        level = int(bdr.get('level', 0))
        if 'stride' not in bdr:
            bdr['stride'] = float(
                self.inner_head.prior_generator.strides[level])
        self.bdr = MODELS.build(bdr)
        self.snap_window = float(snap_window)
        self.snap = snap
        if boundary_source not in BOUNDARY_SOURCES:
            raise ValueError(f'boundary_source must be one of '
                             f'{BOUNDARY_SOURCES}, got {boundary_source!r}')
        self.boundary_source = boundary_source
        self.max_length = max_length
        if pair_score not in PAIR_SCORES:
            raise ValueError(f'pair_score must be one of {PAIR_SCORES}, got '
                             f'{pair_score!r}')
        self.pair_score = pair_score

    def forward(self, feats: Sequence[Tensor],
                masks: Sequence[Tensor]) -> Tuple:
        """``(*base_head(feats, masks), [(B, 2, T_0)])``."""
        return tuple(self.inner_head(feats, masks)) + (self.bdr(
            feats, masks), )

    def loss_by_feat(self, *outs, masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        losses = dict(self.inner_head.loss_by_feat(
            *outs[:-1], masks=masks, data_samples=data_samples))
        losses.update(self.bdr.loss_by_feat(outs[-1], masks, data_samples))
        return losses

    def decode_by_feat(self, *outs, masks: Sequence[Tensor]
                       ) -> Tuple[List[Tensor], List[Tensor]]:
        """The base head's decoding with snapped boundaries (grid units);
        :meth:`BaseTALHead.predict_by_feat` then runs the base head's
        per-video post-processing on them."""
        scores, segments = self.inner_head.decode_by_feat(*outs[:-1],
                                                          masks=masks)
        if not self.snap or self.snap_window <= 0:
            return scores, segments
        start_x, end_x = self.bdr.crossings(outs[-1], masks)
        lengths = [s.shape[1] for s in segments]
        flat = torch.cat(list(segments), dim=1)
        flat, _ = snap_to_zero_crossings(flat, start_x, end_x,
                                         self.bdr.stride, self.snap_window)
        return scores, list(flat.split(lengths, dim=1))

    def predict_by_feat(self, *outs, masks: Sequence[Tensor],
                        data_samples: Sequence) -> List[InstanceData]:
        """The base head's candidates, snapped (``'snap'``), or the BDR
        crossing pairs scored by its classifier (``'crossings'``), then the
        base head's per-video post-processing."""
        if self.boundary_source == 'snap':
            return super().predict_by_feat(*outs, masks=masks,
                                           data_samples=data_samples)
        level_probs, _ = self.inner_head.decode_by_feat(*outs[:-1],
                                                        masks=masks)
        strides = [float(x) for x in self.inner_head.prior_generator.strides]
        start_x, end_x = self.bdr.crossings(outs[-1], masks)
        max_steps = (float('inf') if self.max_length is None else
                     self.max_length / self.bdr.stride)
        results = []
        for i, (pairs, sample) in enumerate(
                zip(crossing_pairs(start_x, end_x, max_steps), data_samples)):
            segs = pairs * self.bdr.stride  # grid units
            valid = [p[i][m[i]].to(segs.dtype)
                     for p, m in zip(level_probs, masks)]
            if segs.numel() == 0 or valid[0].shape[0] == 0:
                segs = segs.new_zeros(0, 2)
                scores = segs.new_zeros(0, level_probs[0].shape[-1])
            elif self.pair_score == 'centre':
                scores = segment_centre_scores(valid, strides, segs)
            else:
                positions = torch.arange(valid[0].shape[0], device=segs.device,
                                         dtype=segs.dtype) * strides[0]
                scores = segment_mean_scores(valid[0], positions, segs)
            keep = torch.ones(segs.shape[0], dtype=torch.bool,
                              device=segs.device)
            results.append(self.predict_by_feat_single(
                scores, segs, keep, sample.metainfo))
        return results
