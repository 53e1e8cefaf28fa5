"""RCL plugged into MMAction2's own BMN (RCL paper, abstract: "seamlessly
integrated into existing detectors, e.g., BMN").

What is kept, what is replaced, and why
---------------------------------------
``BMNRCL`` subclasses ``mmaction.models.localizers.BMN`` (MODELS ``BMN``)
and takes the same constructor arguments, so a stock BMN config becomes an
RCL config by changing ``type`` and adding ``rcl_head``.

* **Kept, unchanged**: BMN's base module (``x_1d_b``, two grouped 1-D convs)
  and its temporal evaluation module (``x_1d_s`` / ``x_1d_e``: start and end
  probabilities), their labels (``BMN.generate_labels``) and their loss
  (``BMNLoss.tem_loss``: the ``L_boundary`` of Eq. 7, which the paper keeps
  "for fair comparison"); the ``forward(inputs, data_samples, mode)``
  contract; the data pipeline (``ActivityNetDataset``,
  ``LoadLocalizationFeature``, ``GenerateLocalizationLabels``,
  ``PackLocalizationInputs``) and the output consumed by ``ANetMetric``:
  one ``dict(video_name=..., proposal_list=[dict(segment=[s, e] seconds,
  score=p), ...])`` per video, with BMN's conversion of normalised
  coordinates to seconds.
* **Replaced**: the proposal evaluation module, i.e. the 100 x 100
  boundary-matching map (``x_1d_p`` -> boundary-matching layer with its
  precomputed ``(T, 32 T T)`` sampling mask -> ``x_3d_p`` -> ``x_2d_p``)
  and BMN's peak-based enumeration of grid proposals. In their place
  :class:`~mmtal_zoom.models.heads.RCLHead`: a continuous anchoring
  representation that scores any segment from features sampled at its
  continuous coordinates (``RCLSampler`` queries at training time, BMN's
  grid refined by the recurrent refine module at test time), then Soft-NMS
  and top-Q. The grid map is what limits BMN on short actions (the smallest
  representable length is one cell, Sec. 3.2); that is the part RCL
  changes, so it is the only part swapped.
* **Added**: the ``lambda_3`` L2 term of Eq. 7 over all parameters
  (``l2_weight``; the optimizer's weight decay is left as in the stock BMN
  config).

Training: ``L = L_tem + sum_m w_m L_reg,m + lambda_3 ||theta||^2``
(Eq. 7-8), ``w_m`` the stage weights of ``RCLHead.stage_weighting``
(RAFT's ``alpha^(M - m)`` by default).
Inference: ``score = p^1 * p^2`` (Sec. 4.1; ``test_cfg.use_boundary_probs``
also multiplies BMN's start / end probabilities, interpolated at the refined
continuous boundaries), Soft-NMS, top ``post_process_top_k``.

Unlike stock BMN, ``predict`` handles batches of any size.
"""
from typing import Dict, List, Optional

import torch
from torch import Tensor

from mmaction.models.localizers import BMN
from mmaction.registry import MODELS


@MODELS.register_module()
class BMNRCL(BMN):
    """BMN with its boundary-matching map replaced by RCL.

    Args:
        **bmn_kwargs: the arguments of MMAction2's ``BMN``:
            ``temporal_dim``, ``boundary_ratio``, ``feat_dim``,
            ``feature_extraction_interval``, ``loss_cls``,
            ``hidden_dim_1d`` as there; ``num_samples``,
            ``num_samples_per_bin``, ``hidden_dim_2d``, ``hidden_dim_3d``,
            ``soft_nms_alpha``, ``soft_nms_low_threshold``,
            ``soft_nms_high_threshold``: BMN's Soft-NMS, used when
            ``rcl_head.test_cfg.nms.method`` is ``'bmn'`` (otherwise
            accepted so that BMN configs work unchanged);
            ``post_process_top_k`` (int): proposals per video (top-Q),
            overrides ``rcl_head.test_cfg.nms.max_num``.
        rcl_head (dict): :class:`RCLHead` config; ``in_channels`` defaults
            to ``hidden_dim_1d`` and ``sampler.num_grid`` to
            ``temporal_dim``.
        loss_weight_tem (float): weight of BMN's temporal evaluation loss.
        l2_weight (float): lambda_3 of Eq. 7 (1e-5).
        keep_bm_map (bool): own design, not the paper's: keep BMN's
            boundary-matching map and its loss beside RCL (a hybrid); each
            grid query is then scored by the geometric blend
            ``(p^1 p^2)^(1 - w) * (bm_cls bm_reg)^w`` and moved by the CAR's
            continuous offsets. ``False`` (the paper): the map is replaced.
        bm_score_weight (float): ``w`` above.
        detach_rcl_features (bool): own design, not the paper's: RCL's
            losses do not reach BMN's base module (its features are
            detached where the RCL head reads them), so the base module is
            shaped by BMN's own losses only and RCL is a plug-in scorer on
            top. ``False`` (the paper, Eq. 7): everything is trained
            jointly.

    Shapes: inputs ``(B, feat_dim, temporal_dim)`` (stacked by
    ``forward``); coordinates normalised to ``[0, 1]``.
    """

    def __init__(self,
                 rcl_head: dict = dict(type='RCLHead'),
                 loss_weight_tem: float = 1.0,
                 l2_weight: float = 1e-5,
                 keep_bm_map: bool = False,
                 bm_score_weight: float = 0.5,
                 detach_rcl_features: bool = False,
                 **bmn_kwargs):
        # read by _get_interp1d_mask, which BMN.__init__ calls
        object.__setattr__(self, '_keep_bm_map', bool(keep_bm_map))
        super().__init__(**bmn_kwargs)
        temporal_dim, hidden_dim_1d = self.tscale, self.hidden_dim_1d
        if not 0.0 <= bm_score_weight <= 1.0:
            raise ValueError('bm_score_weight must be in [0, 1], got '
                             f'{bm_score_weight}')
        self.bm_score_weight = float(bm_score_weight)
        self.detach_rcl_features = bool(detach_rcl_features)
        if not self._keep_bm_map:
            # the boundary-matching branch is replaced: drop its modules
            for name in ('x_1d_p', 'x_3d_p', 'x_2d_p', 'bm_mask',
                         'sample_mask'):
                if hasattr(self, name):
                    delattr(self, name)
        head = dict(rcl_head)
        head.setdefault('in_channels', hidden_dim_1d)
        sampler = dict(head.get('sampler', dict(type='RCLSampler')))
        sampler.setdefault('num_grid', temporal_dim)
        if sampler['num_grid'] != temporal_dim:
            raise ValueError(
                f'rcl_head.sampler.num_grid ({sampler["num_grid"]}) must '
                f'equal temporal_dim ({temporal_dim})')
        head['sampler'] = sampler
        test_cfg = dict(head.get('test_cfg') or {})
        test_cfg['nms'] = {**test_cfg.get('nms', {}),
                           'max_num': self.post_process_top_k}
        if test_cfg['nms'].get('method') == 'bmn':
            # BMN's own Soft-NMS with the host config's parameters
            test_cfg['nms'].setdefault('alpha', self.soft_nms_alpha)
            test_cfg['nms'].setdefault('low', self.soft_nms_low_threshold)
            test_cfg['nms'].setdefault('high', self.soft_nms_high_threshold)
        head['test_cfg'] = test_cfg
        self.rcl_head = MODELS.build(head)
        self.loss_weight_tem = loss_weight_tem
        self.l2_weight = l2_weight

    def _get_interp1d_mask(self):
        """BMN's ``(T, 32 T T)`` sampling mask belongs to the replaced
        branch: not built (saves BMN's slow Python construction and 128 MB)
        unless ``keep_bm_map``."""
        if self._keep_bm_map:
            super()._get_interp1d_mask()
        else:
            self.sample_mask = None

    def _bm_map(self, base: Tensor) -> Tensor:
        """BMN's proposal evaluation module on the base features:
        ``(B, 2, T, T)`` (regression, classification) confidences indexed
        ``[duration - 1, start]`` (``keep_bm_map`` only)."""
        x = self._boundary_matching_layer(self.x_1d_p(base))
        return self.x_2d_p(self.x_3d_p(x).squeeze(2))

    def _grid_prior(self, base: Tensor) -> Optional[Tensor]:
        """BMN's map confidence ``cls * reg`` of every grid query
        ``(B, T (T + 1) / 2)`` in ``RCLSampler.grid_queries`` order, or
        ``None`` without ``keep_bm_map``."""
        if not self._keep_bm_map:
            return None
        bm = self._bm_map(base)
        t = self.tscale
        grid = (self.rcl_head.sampler.grid_queries(base.device, base.dtype)
                * t).round().long()
        start, dur = grid[:, 0], grid[:, 1] - grid[:, 0] - 1
        return (bm[:, 0] * bm[:, 1])[:, dur, start].clamp(min=0)

    # ------------------------------------------------------------------
    def _boundary(self, x: Tensor):
        """BMN's base module and temporal evaluation module.

        Returns:
            tuple: ``base`` ``(B, hidden_dim_1d, T)``, ``start`` ``(B, T)``,
            ``end`` ``(B, T)``.
        """
        base = self.x_1d_b(x)
        return base, self.x_1d_s(base).squeeze(1), self.x_1d_e(base).squeeze(1)

    @staticmethod
    def _min_lengths(data_samples) -> Optional[List[float]]:
        """RCL's SPF floor per video: one frame, ``1 / feature_frame`` in
        BMN's normalised coordinates; ``None`` when the metainfo lacks
        ``feature_frame`` (the sampler's default applies)."""
        if data_samples is None:
            return None
        out = []
        for sample in data_samples:
            frames = sample.metainfo.get('feature_frame')
            if not frames:
                return None
            out.append(1.0 / float(frames))
        return out

    def _forward(self, x: Tensor):
        """Tensor mode (also what FLOPs are counted on): the whole network
        up to Soft-NMS.

        Args:
            x (Tensor): ``(B, feat_dim, T)``.

        Returns:
            tuple: ``segments`` ``(B, R, 2)`` normalised, ``scores``
            ``(B, R)``, ``start`` ``(B, T)``, ``end`` ``(B, T)``.
        """
        base, start, end = self._boundary(x)
        segments, scores = self.rcl_head.predict_raw(
            base, start_probs=start, end_probs=end,
            prior_scores=self._grid_prior(base),
            prior_weight=self.bm_score_weight)
        return segments, scores, start, end

    def loss(self, batch_inputs: Tensor, batch_data_samples,
             **kwargs) -> Dict[str, Tensor]:
        """BMN's temporal evaluation loss + RCL's losses (Eq. 7-8)."""
        gt_bbox = [
            sample.gt_instances['gt_bbox'] for sample in batch_data_samples
        ]
        label_conf, label_start, label_end = self.generate_labels(gt_bbox)
        device = batch_inputs.device
        base, start, end = self._boundary(batch_inputs)
        loss_tem = self.loss_cls.tem_loss(start, end, label_start.to(device),
                                          label_end.to(device))
        gts = [
            torch.as_tensor(g, dtype=base.dtype, device=device).reshape(-1, 2)
            for g in gt_bbox
        ]
        losses = dict(loss_tem=self.loss_weight_tem * loss_tem)
        if self._keep_bm_map:
            # BMN's proposal evaluation loss, as BMNLoss computes it
            _, _, pem_reg, pem_cls = self.loss_cls(
                self._bm_map(base), start, end, label_conf.to(device),
                label_start.to(device), label_end.to(device), self.bm_mask)
            losses['loss_pem'] = 10.0 * pem_reg + pem_cls
        losses.update(
            self.rcl_head.loss(
                base.detach() if self.detach_rcl_features else base, gts,
                min_lengths=self._min_lengths(batch_data_samples)))
        if self.l2_weight > 0:
            losses['loss_l2'] = self.l2_weight * sum(
                p.pow(2).sum() for p in self.parameters() if p.requires_grad)
        return losses

    def predict(self, batch_inputs: Tensor, batch_data_samples,
                **kwargs) -> List[dict]:
        """Proposals in ANetMetric's format, one dict per video."""
        base, start, end = self._boundary(batch_inputs)
        min_lengths = self._min_lengths(batch_data_samples)
        if min_lengths is not None:
            min_lengths = base.new_tensor(min_lengths)
        results = self.rcl_head.predict(base, start_probs=start,
                                        end_probs=end,
                                        min_lengths=min_lengths,
                                        prior_scores=self._grid_prior(base),
                                        prior_weight=self.bm_score_weight)
        outputs = []
        for sample, (segments, scores) in zip(batch_data_samples, results):
            info = sample.metainfo
            for key in ('video_name', 'duration_frame', 'duration_second'):
                if key not in info:
                    raise KeyError(
                        f'BMNRCL.predict needs {key!r} in the metainfo of '
                        f'{info.get("video_name", "a video")}: add it to '
                        'PackLocalizationInputs(meta_keys=...)')
            # BMN's post_processing: normalised -> seconds
            frames = float(info['duration_frame'])
            interval = self.feature_extraction_interval
            duration = (float(frames // interval * interval) / frames *
                        float(info['duration_second']))
            segs = segments.detach().clamp(0, 1).cpu().numpy() * duration
            scs = scores.detach().cpu().numpy()
            proposal_list = [
                dict(score=float(p), segment=[float(s[0]), float(s[1])])
                for s, p in zip(segs, scs)
            ]
            outputs.append(
                dict(video_name=info['video_name'],
                     proposal_list=proposal_list))
        return outputs
