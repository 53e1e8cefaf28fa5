"""RCL head: continuous anchoring representation + recurrent refinement.

Wang et al., "RCL: Recurrent Continuous Localization for Temporal Action
Detection", CVPR 2022 (``../shared/seeds/001_*``). The head scores *any*
segment ``x = (x_s, x_e)``: features are sampled at the continuous
coordinates of the segment (1-D RoI-align of its start region, interior and
end region), concatenated with an encoding of the coordinates themselves
(the "condition" of Eq. 4), and an MLP predicts two tIoU confidences
(classification and regression branches, Eq. 5) and relative boundary
offsets (Eq. 4 / 6). A recurrent refine module (Sec. 3.4) then iterates
look-up -> GRU update -> move.

Coordinates are normalised to ``[0, 1]`` over the feature sequence (the
convention of MMAction2's BMN); snippet ``t`` of ``T`` sits at
``(t + 0.5) / T`` (see :mod:`mmtal_zoom.models.layers.temporal_roi_align`).
"""
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS, TASK_UTILS
from ...structures.proposal_ops import blend_scores, proposal_nms
from ..layers.coordinate_encoding import encode_coordinates
from ..layers.temporal_roi_align import interpolate_1d, segment_roi_features
from ..losses.rcl_losses import rcl_multi_stage_loss, rcl_stage_loss
from ..task_modules.rcl_assigner import RCLAssigner
from ..task_modules.rcl_sampler import (apply_min_length,
                                        gather_refine_queries,
                                        grid_boundary_peaks)
from .base_tal_head import merge_test_cfg

DEFAULT_TEST_CFG = dict(
    refine_topk=None,  # refine only the best CAR queries (None: all)
    # also keep every grid query's CAR estimate (offset applied) as a
    # candidate beside the refined ones: the refined queries converge onto a
    # few segments, the grid keeps the candidate set diverse (own design)
    car_candidates=False,
    # also keep every candidate grid query unrefined, with the score of its
    # refined estimate times this factor, beside the CAR estimate ('car'
    # stage; 0: off): where the one-step offset moves a good grid segment
    # away, the original still competes in Soft-NMS (own design)
    grid_candidates=0.0,
    # 'car' stage: score each CAR estimate by the CAR at its own (moved)
    # coordinates instead of with the confidence of the grid query it came
    # from (own design): the continuous representation can score any
    # segment, so every candidate is ranked by what it covers
    rescore_car=False,
    # 'car' stage: move each grid query by this fraction of the CAR's
    # one-step offset (1: the offset as predicted, Eq. 4; < 1 shrinks a
    # noisy offset toward the grid query; own design)
    offset_scale=1.0,
    # 'car' stage: the most each boundary of a grid query may move, in grid
    # cells (None: as predicted). The grid already holds every segment on
    # whole cells, so 0.5 leaves the CAR only the sub-cell refinement a
    # neighbouring grid query cannot give (own design)
    max_shift=None,
    # which estimate is proposed: 'refined' (the last RRM iteration, as the
    # paper) or 'car' (the CAR's one-step offset estimate; the RRM is then
    # skipped at test time)
    stage='refined',
    # which grid queries are candidates: 'all' (the paper's grid) or
    # 'boundary_peaks' (BMN's enumeration: start at a peak of the start
    # probabilities or above half their maximum, end likewise; needs the
    # start/end probabilities, i.e. a BMN-style base)
    candidates='all',
    # candidates per video entering Soft-NMS (the best by score); None:
    # every candidate, as BMN's own post-processing
    pre_nms_topk=1000,
    # also multiply by BMN's start/end probabilities (BMN's score; the paper
    # scores p^1 * p^2 only, Sec. 4.1)
    use_boundary_probs=False,
    # "Soft-NMS, threshold 0.3" (Sec. 4.1); top-Q = max_num (100 on ANet)
    # method 'bmn': MMAction2's BMN Soft-NMS (Gaussian decay exp(-IoU^2 /
    # alpha) above a length-dependent IoU threshold between low and high)
    nms=dict(method='linear', iou_threshold=0.3, sigma=0.5, min_score=0.0,
             max_num=100, class_agnostic=True),
)


@MODELS.register_module()
class RCLHead(BaseModule):
    """Continuous anchoring representation (CAR) with RCL's sampler, losses
    and recurrent refine module (RCL, Eq. 4-8, Sec. 3.3-3.5).

    Args:
        in_channels (int): channels of the input features (BMN's base module
            output, ``hidden_dim_1d``).
        feat_channels (int): channels after the head's input conv, the ones
            that are sampled.
        num_boundary_bins (int): RoI-align bins of the start region and of
            the end region, each ``[x - r l, x + r l]``.
        num_inner_bins (int): bins of the interior ``[x_s, x_e]``.
        points_per_bin (int): interpolated points averaged per bin.
        boundary_ratio (float): ``r``.
        embed_channels (int): width of the CAR MLP.
        num_freqs (int): frequencies of the coordinate encoding.
        with_offset (bool): predict boundary offsets (Eq. 4, 6); ``False`` is
            the "CAR w/o offset" ablation (Table 4).
        sampler (dict): :class:`RCLSampler` config (``TASK_UTILS``).
        refine (dict, optional): :class:`RecurrentRefineModule` config;
            ``None`` disables the RRM (Table 3 / 6). Needs ``with_offset``.
        num_refine_queries (int): queries per video refined at training time
            (a subset: the RRM runs ``M`` look-ups; a memory bound of this
            implementation, the paper gives none).
        train_refine (str): which queries the RRM refines at training
            time. ``'as_test'`` (default): those inference refines — the
            paper does not name them; our reading of Sec. 3.4, where the
            RRM updates the confidence map inference reads: the grid
            queries (and a two-stage detector's proposals,
            ``extra_queries``), ``num_refine_queries`` of them drawn
            uniformly, or, when inference refines only its best
            ``test_cfg.refine_topk``, the best ``min(num_refine_queries,
            refine_topk)`` by CAR score. ``'mixed'`` (an earlier reading, own
            design): among all sampled queries, ``refine_top_fraction`` of
            the best CAR scores, ``refine_pos_fraction`` among tIoU* above
            ``offset_iou_thr`` (``pos_iou_thr`` when that is ``None``), the
            rest uniformly.
        refine_top_fraction (float): see ``train_refine='mixed'``.
        refine_pos_fraction (float): see ``train_refine='mixed'``.
        pos_iou_thr (float): tau of Eq. 5 (0.7).
        reg_iou_thrs (tuple): BMN's high / low tIoU bins of the regression
            loss.
        offset_iou_thr (float, optional): ``None`` (default): every valid
            query learns its offset towards the closest ground truth ``g*``,
            as Eq. 6 is written ("closest" read as highest tIoU, then
            smallest boundary distance: :class:`RCLAssigner`); a float:
            only queries with tIoU* above it (an earlier reading).
        offset_target (str): unit of the offset error: ``'absolute'``
            (default) the video's, ``|x* - g*|`` (our reading of Eq. 6, with
            ``Delta x`` the displacement of Eq. 4; at most 1 per boundary),
            ``'relative'`` the query's length (the earlier reading; with
            every query supervised its targets reach the hundreds).
        offset_stay (bool): with ``offset_iou_thr``, the other valid
            queries learn a zero offset (a separately averaged L1 term), so
            that the offset field the RRM iterates is defined everywhere
            (own design).
        loss_weight_reg (float): lambda_1 (10).
        loss_weight_offset (float): lambda_2 (1).
        stage_decay (float): alpha of Eq. 8 (0.8).
        stage_weighting (str): ``'raft'`` (default): stage ``m`` (``m = 0``
            the CAR, ``1..M`` the RRM iterations) weighs ``alpha^(M - m)``,
            the weighting of RAFT, which the paper says it follows (the last
            iteration, the one used at inference, weighs most); ``'paper'``:
            ``alpha^m`` as Eq. 8 is literally written (the CAR weighs most;
            better when inference reads the CAR, ``test_cfg.stage='car'``).
        test_cfg (dict, optional): see ``DEFAULT_TEST_CFG``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 64,
                 num_boundary_bins: int = 4,
                 num_inner_bins: int = 8,
                 points_per_bin: int = 3,
                 boundary_ratio: float = 0.5,
                 embed_channels: int = 256,
                 num_freqs: int = 8,
                 with_offset: bool = True,
                 sampler: dict = dict(type='RCLSampler'),
                 refine: Optional[dict] = dict(
                     type='RecurrentRefineModule', hidden_channels=128,
                     num_iters=10),
                 num_refine_queries: int = 512,
                 train_refine: str = 'as_test',
                 refine_pos_fraction: float = 0.5,
                 refine_top_fraction: float = 0.0,
                 pos_iou_thr: float = 0.7,
                 reg_iou_thrs: Tuple[float, float] = (0.7, 0.3),
                 offset_iou_thr: Optional[float] = None,
                 offset_stay: bool = False,
                 offset_target: str = 'absolute',
                 loss_weight_reg: float = 10.0,
                 loss_weight_offset: float = 1.0,
                 stage_decay: float = 0.8,
                 stage_weighting: str = 'raft',
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if refine is not None and not with_offset:
            raise ValueError('RCLHead: the recurrent refine module moves '
                             'boundaries by offsets; it needs '
                             'with_offset=True')
        self.sampler = TASK_UTILS.build(sampler)
        self.num_steps = self.sampler.num_grid
        # the CAR's bins (Eq. 4), passed to segment_roi_features as they are
        self.bins = dict(boundary_ratio=boundary_ratio,
                         num_boundary_bins=num_boundary_bins,
                         num_inner_bins=num_inner_bins,
                         points_per_bin=points_per_bin)
        self.num_freqs = num_freqs
        self.with_offset = with_offset
        if offset_stay and offset_iou_thr is None:
            raise ValueError('RCLHead: offset_stay trains the queries below '
                             'offset_iou_thr to stay; give offset_iou_thr '
                             '(None supervises every query already)')
        for name, value, allowed in (
            ('train_refine', train_refine, ('as_test', 'mixed')),
            ('offset_target', offset_target, ('absolute', 'relative')),
            ('stage_weighting', stage_weighting, ('paper', 'raft')),
        ):
            if value not in allowed:
                raise ValueError(f'RCLHead {name} must be one of {allowed}, '
                                 f'got {value!r}.')
        # training-time refine queries (RCLSampler.select_refine)
        self.train_refine = train_refine
        self.refine_selection = dict(
            num=num_refine_queries, top_fraction=refine_top_fraction,
            pos_fraction=refine_pos_fraction,
            pos_iou_thr=(pos_iou_thr
                         if offset_iou_thr is None else offset_iou_thr))
        self.stage_weighting = stage_weighting
        self.stage_decay = stage_decay
        # one stage's loss (Eq. 5-6, rcl_stage_loss)
        self.stage_loss_cfg = dict(pos_iou_thr=pos_iou_thr,
                                   reg_iou_thrs=tuple(reg_iou_thrs),
                                   offset_iou_thr=offset_iou_thr,
                                   offset_stay=offset_stay,
                                   offset_target=offset_target,
                                   loss_weight_reg=loss_weight_reg,
                                   loss_weight_offset=loss_weight_offset)
        self.test_cfg = merge_test_cfg(DEFAULT_TEST_CFG, test_cfg)

        self.input_proj = nn.Sequential(
            nn.Conv1d(in_channels, feat_channels, 3, padding=1),
            nn.ReLU(inplace=True))
        num_bins = 2 * num_boundary_bins + num_inner_bins
        enc_dim = 5 + 4 * num_freqs
        self.car_mlp = nn.Sequential(
            nn.Linear(num_bins * feat_channels + enc_dim, embed_channels),
            nn.ReLU(inplace=True), nn.Linear(embed_channels, embed_channels),
            nn.ReLU(inplace=True))
        # logits of [p^1 (classification branch), p^2 (tIoU regression)]
        self.conf_head = nn.Linear(embed_channels, 2)
        self.offset_head = (nn.Linear(embed_channels, 2)
                            if with_offset else None)
        if refine is not None:
            refine = dict(refine)
            refine.setdefault('embed_channels', embed_channels)
            self.refine = MODELS.build(refine)
        else:
            self.refine = None

    @property
    def num_stages(self) -> int:
        """``1 + M``: the CAR and the RRM iterations."""
        return 1 + (self.refine.num_iters if self.refine is not None else 0)

    # ------------------------------------------------------------------
    # the continuous anchoring representation (Eq. 4)
    # ------------------------------------------------------------------
    def project(self, feats: Tensor, masks: Optional[Tensor] = None
                ) -> Tensor:
        """``(B, C_in, T)`` -> ``(B, C, T)`` features that are sampled."""
        x = self.input_proj(feats)
        if masks is not None:
            x = x * masks[:, None].to(x.dtype)
        return x

    def embed(self, x: Tensor, queries: Tensor) -> Tensor:
        """CAR embedding of segment queries: sampled features ++ coordinates.

        Args:
            x (Tensor): ``(B, C, T)`` projected features.
            queries (Tensor): ``(B, Q, 2)`` normalised segments.

        Returns:
            Tensor: ``(B, Q, E)``.
        """
        sampled = segment_roi_features(x, queries, **self.bins)
        enc = encode_coordinates(queries.to(x.dtype), x.shape[-1],
                                 self.num_freqs)
        return self.car_mlp(torch.cat([sampled, enc], dim=-1))

    def car(self, x: Tensor, queries: Tensor
            ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """``G_theta(F; x)``: embedding ``(B, Q, E)``, confidence logits
        ``(B, Q, 2)`` and offsets ``(B, Q, 2)`` (``None`` without offset)."""
        emb = self.embed(x, queries)
        logits = self.conf_head(emb)
        offsets = self.offset_head(emb) if self.with_offset else None
        return emb, logits, offsets

    @staticmethod
    def decode(queries: Tensor, offsets: Optional[Tensor],
               min_length) -> Tensor:
        """Eq. 4: ``x* = x + dx * (x_e - x_s)``, then ordered, clipped to
        ``[0, 1]`` and floored to ``min_length`` (SPF)."""
        if offsets is None:
            return apply_min_length(queries, min_length)
        length = (queries[..., 1] - queries[..., 0])[..., None]
        return apply_min_length(queries + offsets * length, min_length)

    def _min_lengths(self, min_lengths, batch: int, ref: Tensor) -> Tensor:
        if min_lengths is None:
            return ref.new_full((batch, 1), self.sampler.min_length)
        return torch.as_tensor(min_lengths, dtype=ref.dtype,
                               device=ref.device).reshape(batch, 1)

    def forward(self, feats: Tensor, queries: Tensor,
                masks: Optional[Tensor] = None,
                min_lengths: Optional[Tensor] = None,
                refine_index: Optional[Tensor] = None,
                refine_topk: Optional[int] = None
                ) -> List[Dict[str, Tensor]]:
        """All stages on given queries.

        Args:
            feats (Tensor): ``(B, C_in, T)``.
            queries (Tensor): ``(B, Q, 2)``.
            masks (Tensor, optional): ``(B, T)`` bool.
            min_lengths (Tensor, optional): ``(B,)`` SPF floors.
            refine_index (Tensor | callable, optional): ``(B, R)`` indices
                of the queries the RRM refines (default: all), or a function
                of the CAR logits ``(B, Q, 2)`` returning them.
            refine_topk (int, optional): without ``refine_index``, refine
                the ``refine_topk`` queries of highest CAR score ``p^1 p^2``.

        Returns:
            list[dict]: per stage (CAR first) ``queries`` ``(B, Q_m, 2)``,
            ``logits`` ``(B, Q_m, 2)``, ``offsets`` ``(B, Q_m, 2)`` or
            ``None``; the CAR stage also has ``embed``, the RRM stages
            ``index`` ``(B, R)`` (which queries they refine).
        """
        x = self.project(feats, masks)
        emb, logits, offsets = self.car(x, queries)
        stages = [dict(queries=queries, logits=logits, offsets=offsets,
                       embed=emb)]
        if self.refine is None:
            return stages
        refine_index, ctx, q0, lg0, off0 = gather_refine_queries(
            refine_index, logits, refine_topk, emb, queries, offsets)
        min_len = self._min_lengths(min_lengths, feats.shape[0], feats)
        refined = self.refine(
            ctx, q0, lg0, off0,
            lookup=lambda qs: self.car(x, qs),
            decode=lambda qs, off: self.decode(qs, off, min_len))
        for st in refined:
            st['index'] = refine_index
        return stages + refined

    # ------------------------------------------------------------------
    # training (Eq. 5-8)
    # ------------------------------------------------------------------
    match = staticmethod(RCLAssigner.assign)  # tIoU* and g* (Eq. 5)

    def loss_stage(self, queries: Tensor, logits: Tensor,
                   offsets: Optional[Tensor], valid: Tensor, gts: Tensor,
                   gt_valid: Tensor) -> Dict[str, Tensor]:
        """``L_reg`` of one stage (Eq. 5 + 6), unweighted by alpha.

        Shapes: ``queries`` / ``logits`` / ``offsets`` ``(B, Q, 2)``,
        ``valid`` ``(B, Q)`` bool, ``gts`` ``(B, N, 2)``, ``gt_valid``
        ``(B, N)``.
        """
        iou, matched = self.match(queries, gts, gt_valid)
        return rcl_stage_loss(queries, logits, offsets, valid, iou, matched,
                              has_gt=gt_valid.any(1), **self.stage_loss_cfg)

    def _refine_candidates(self, valid: Tensor, kinds: Tensor) -> Tensor:
        """``(B, Q)`` bool: the sampled queries the RRM may refine at
        training time (``train_refine``); ``kinds`` as
        :meth:`RCLSampler.sample_batch` returns them."""
        if self.train_refine == 'mixed':
            return valid
        # what inference refines: the grid (0) and given proposals (3)
        cand = valid & ((kinds == 0) | (kinds == 3))
        # a video with neither refines its other samples
        return torch.where(cand.any(1, keepdim=True), cand, valid)

    def _select_refine(self, iou: Tensor, valid: Tensor,
                       logits: Optional[Tensor] = None) -> Tensor:
        """The training-time refine queries (:meth:`RCLSampler.
        select_refine`) among ``valid`` (the candidates of
        :meth:`_refine_candidates`)."""
        sel = dict(self.refine_selection)
        if self.train_refine == 'as_test':
            topk = self.test_cfg.get('refine_topk')
            if topk is not None:
                sel['num'] = min(sel['num'], int(topk))
            sel.update(top_fraction=0.0 if topk is None else 1.0,
                       pos_fraction=0.0)
        return self.sampler.select_refine(iou, valid, logits=logits, **sel)

    def loss(self, feats: Tensor, gt_segments: Sequence[Tensor],
             masks: Optional[Tensor] = None,
             min_lengths: Optional[Sequence[float]] = None,
             extra_queries: Optional[Sequence[Tensor]] = None
             ) -> Dict[str, Tensor]:
        """Sample queries (Sec. 3.3), run every stage, the stage-weighted
        sum of Eq. 8 (``stage_weighting``).

        Args:
            feats (Tensor): ``(B, C_in, T)``.
            gt_segments (list[Tensor]): per video ``(N_i, 2)`` normalised.
            masks (Tensor, optional): ``(B, T)`` bool.
            min_lengths (sequence, optional): per-video SPF floors.
            extra_queries (list[Tensor], optional): per video ``(M_i, 2)``
                more training queries (e.g. a first stage's proposals when
                RCL refines another detector), appended to the sampler's.

        Returns:
            dict: ``loss_rcl_cls``, ``loss_rcl_reg``, ``loss_rcl_offset``
            (alpha-weighted sums over stages).
        """
        b = feats.shape[0]
        if len(gt_segments) != b:
            raise ValueError(f'{len(gt_segments)} ground-truth lists for a '
                             f'batch of {b}')
        gts, gt_valid = RCLAssigner.pad_gts(gt_segments, feats)
        padded, valid, kinds = self.sampler.sample_batch(
            gts, gt_valid, feats, min_lengths, extra_queries,
            return_kinds=True)
        refine_index = None
        if self.refine is not None:
            iou, _ = self.match(padded, gts, gt_valid)
            refine_index = partial(self._select_refine, iou,
                                   self._refine_candidates(valid, kinds))
        stages = self.forward(feats, padded, masks, min_lengths=(
            None if min_lengths is None else feats.new_tensor(
                [float(m) for m in min_lengths])), refine_index=refine_index)
        stage_loss = partial(self.loss_stage, gts=gts, gt_valid=gt_valid)
        return rcl_multi_stage_loss(stages, valid, stage_loss,
                                    self.stage_decay, self.stage_weighting)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def refine_queries(self, feats: Tensor, queries: Tensor,
                       masks: Optional[Tensor] = None,
                       min_lengths: Optional[Tensor] = None,
                       refine_topk: Optional[int] = None
                       ) -> Tuple[Tensor, Tensor]:
        """Given queries -> CAR -> RRM -> segments and confidences.

        Args:
            feats (Tensor): ``(B, C_in, T)``.
            queries (Tensor): ``(B, Q, 2)`` normalised.
            masks (Tensor, optional): ``(B, T)``.
            min_lengths (Tensor, optional): ``(B,)`` SPF floors.
            refine_topk (int, optional): refine (and return) only the best
                ``refine_topk`` queries by CAR score.

        Returns:
            tuple: ``segments`` ``(B, R, 2)`` (Eq. 4 applied to the last
            stage), ``confidence`` ``(B, R)`` = ``p^1 * p^2`` and ``index``
            ``(B, R)`` of the query each row comes from.
        """
        b = queries.shape[0]
        min_len = self._min_lengths(min_lengths, b, feats)
        # forward picks the top-k queries by CAR score itself
        stages = self.forward(feats, queries, masks, min_lengths=min_len,
                              refine_topk=refine_topk)
        last = stages[-1]
        segments = self.decode(last['queries'], last['offsets'], min_len)
        conf = torch.sigmoid(last['logits']).prod(-1)
        index = last.get('index')
        if index is None:  # no refine module: every query, in order
            index = torch.arange(segments.shape[1], device=feats.device)
            index = index[None].expand(b, -1)
        return segments, conf, index

    def predict_raw(self, feats: Tensor, masks: Optional[Tensor] = None,
                    start_probs: Optional[Tensor] = None,
                    end_probs: Optional[Tensor] = None,
                    min_lengths: Optional[Tensor] = None,
                    prior_scores: Optional[Tensor] = None,
                    prior_weight: float = 0.5
                    ) -> Tuple[Tensor, Tensor]:
        """Grid queries -> CAR -> RRM -> scored segments, before NMS.

        Args:
            feats (Tensor): ``(B, C_in, T)``.
            masks (Tensor, optional): ``(B, T)``.
            start_probs, end_probs (Tensor, optional): ``(B, T)`` boundary
                probabilities (BMN's temporal evaluation module), read at the
                refined boundaries by linear interpolation.
            min_lengths (Tensor, optional): ``(B,)`` SPF floors.
            prior_scores (Tensor, optional): ``(B, Q)`` another scorer's
                confidence of every grid query (e.g. BMN's map; own design):
                the confidence becomes ``(p^1 p^2)^(1 - w) * prior^w``.
            prior_weight (float): ``w``.

        Returns:
            tuple: ``segments`` ``(B, R, 2)`` normalised and ``scores``
            ``(B, R)`` = ``p^1 * p^2`` (* start * end).
        """
        if self.test_cfg.get('stage', 'refined') not in ('refined', 'car'):
            raise ValueError("RCLHead test_cfg.stage must be 'refined' or "
                             f"'car', got {self.test_cfg['stage']!r}")
        b = feats.shape[0]
        grid = self.sampler.grid_queries(feats.device, feats.dtype)
        queries = grid[None].expand(b, -1, -1).contiguous()
        min_len = self._min_lengths(min_lengths, b, feats)
        have_probs = start_probs is not None and end_probs is not None
        keep = None
        if self.test_cfg.get('candidates', 'all') == 'boundary_peaks':
            if not have_probs:
                raise ValueError("RCLHead test_cfg.candidates='boundary_peaks'"
                                 ' needs start/end probabilities')
            keep = grid_boundary_peaks(grid, self.num_steps, start_probs,
                                       end_probs)
        if (self.test_cfg.get('stage', 'refined') == 'car'
                or self.refine is None):
            x = self.project(feats, masks)
            _, logits, offsets = self.car(x, queries)
            offsets = offsets * float(self.test_cfg.get('offset_scale', 1.0))
            if self.test_cfg.get('max_shift') is not None:
                length = (queries[..., 1] - queries[..., 0])[..., None]
                limit = float(self.test_cfg['max_shift']) / self.num_steps
                offsets = (offsets * length).clamp(-limit, limit) / length
            segments = self.decode(queries, offsets, min_len)
            # each grid query's own score; the estimate inherits it unless
            # re-scored at its moved coordinates
            query_scores = blend_scores(torch.sigmoid(logits).prod(-1),
                                        prior_scores, prior_weight)
            scores = query_scores
            if self.test_cfg.get('rescore_car', False):
                scores = blend_scores(
                    torch.sigmoid(self.car(x, segments)[1]).prod(-1),
                    prior_scores, prior_weight)
            grid_weight = float(self.test_cfg.get('grid_candidates', 0.0))
            if grid_weight > 0:
                segments = torch.cat([segments, queries], dim=1)
                scores = torch.cat([scores, query_scores * grid_weight],
                                   dim=1)
                keep = None if keep is None else keep.repeat(1, 2)
        else:
            if float(self.test_cfg.get('grid_candidates', 0.0)) > 0:
                raise ValueError("RCLHead test_cfg.grid_candidates needs "
                                 "stage='car' (the grid beside the CAR's "
                                 'one-step estimates)')
            stages = self.forward(feats, queries, masks, min_lengths=min_len,
                                  refine_topk=self.test_cfg.get('refine_topk'))
            last = stages[-1]
            segments = self.decode(last['queries'], last['offsets'], min_len)
            scores = blend_scores(
                torch.sigmoid(last['logits']).prod(-1),
                None if prior_scores is None else prior_scores.gather(
                    1, last['index']), prior_weight)
            keep_r = None if keep is None else keep.gather(1, last['index'])
            if self.test_cfg.get('car_candidates', False):
                car = stages[0]
                segments = torch.cat(
                    [segments, self.decode(car['queries'], car['offsets'],
                                           min_len)], dim=1)
                car_scores = torch.sigmoid(car['logits']).prod(-1)
                scores = torch.cat([scores, blend_scores(
                    car_scores, prior_scores, prior_weight)], dim=1)
                keep_r = None if keep is None else torch.cat([keep_r, keep], 1)
            keep = keep_r
        if have_probs and self.test_cfg.get('use_boundary_probs', True):
            scores = scores * interpolate_1d(
                start_probs[:, None], segments[..., 0])[:, 0]
            scores = scores * interpolate_1d(
                end_probs[:, None], segments[..., 1])[:, 0]
        if keep is not None:
            # a query that is not a candidate is never proposed
            scores = scores.masked_fill(~keep, -1.0)
        return segments, scores

    def nms_single(self, segments: Tensor, scores: Tensor
                   ) -> Tuple[Tensor, Tensor]:
        """Top-k then Soft-NMS of one video's ``(R, 2)`` / ``(R,)``;
        non-candidates (score < 0) are dropped first."""
        return proposal_nms(segments, scores, self.test_cfg['nms'],
                            self.test_cfg['pre_nms_topk'])

    def predict(self, feats: Tensor, masks: Optional[Tensor] = None,
                **raw_kwargs) -> List[Tuple[Tensor, Tensor]]:
        """Per video ``(segments (K, 2) normalised, scores (K,))`` after
        Soft-NMS, at most ``test_cfg['nms']['max_num']`` (top-Q).
        ``raw_kwargs``: the keyword arguments of :meth:`predict_raw`
        (boundary probabilities, SPF floors, prior scores)."""
        segments, scores = self.predict_raw(feats, masks, **raw_kwargs)
        return [self.nms_single(s, p) for s, p in zip(segments, scores)]
