"""The single-stage temporal action detector: composition only.

Follows mmdetection's ``SingleStageDetector``: ``extract_feat`` runs the
backbone then the neck; ``loss``, ``predict`` and ``_forward`` hand the
features to the head. No loss maths and no post-processing live here.

Auxiliary losses of other parts: a backbone or neck that computes a loss of
its own (ATR's coarse supervision) exposes ``loss_aux(data_samples) -> dict``;
``loss`` adds what it returns to the head's losses (names must not clash).
The part keeps whatever it needs from its own forward pass.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmaction.registry import MODELS
from ...structures.segment_ops import multiclass_segment_nms
from ...utils.dicts import update_disjoint
from ...utils.long_video import (resize_time, resized_grid_scale,
                                 sliding_window_starts)

Masks = Tuple[Tensor, ...]
Feats = Tuple[Tensor, ...]


@MODELS.register_module()
class TALDetector(BaseModel):
    """Backbone -> neck -> head over snippet features.

    Args:
        head (dict): config of a head derived from
            :class:`~mmtal_zoom.models.heads.BaseTALHead`.
        backbone (dict, optional): config of a backbone; ``None`` passes the
            input features through as a single level.
        neck (dict, optional): config of a neck; ``None`` for no neck.
        data_preprocessor (dict, optional): defaults to
            ``TALDataPreprocessor``, which pads a batch and builds masks.
        init_cfg (dict, optional): weight initialisation config.
        test_cfg (dict, optional): test-time handling of long videos (the
            head's own ``test_cfg`` still drives its post-processing). At
            most one of:

            * ``sliding_window=dict(window=W, overlap=O, nms=None)``: a video
              longer than ``W`` snippets is cut into windows of ``W`` with
              ``O`` shared by neighbours (the last one ends at the video's
              end); each window goes through backbone, neck and head with
              its ``feat_offset`` shifted, so its detections are in video
              seconds; the windows' detections are merged by
              ``multiclass_segment_nms`` with ``nms`` (default: the head's
              ``test_cfg['nms']``, i.e. its NMS / Soft-NMS). A video that
              fits one window is a single pass, unchanged.
            * ``resize_length=L``: every video's features are linearly
              interpolated to ``L`` snippets (``align_corners=True``) and the
              detections mapped back to the video's own grid.

            ``W`` / ``L`` should be the training crop (``max_seq_len``), a
            multiple of the data preprocessor's ``pad_size_divisor``.

    Inputs (after the data preprocessor):
        inputs (Tensor): features ``(B, C, T)``.
        masks (Tensor): validity mask ``(B, T)``, bool, True = valid.
        data_samples (list[ActionDataSample]): per-video ground truth and
            meta information, see ``docs/architecture.md``.
    """

    def __init__(self,
                 head: dict,
                 backbone: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='TALDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from mmaction's registry so that the detector also builds
            # outside a runner (no default scope set).
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone) if backbone else None
        self.neck = MODELS.build(neck) if neck else None
        self.head = MODELS.build(head)
        self.test_cfg = dict(test_cfg or {})
        unknown = set(self.test_cfg) - {'sliding_window', 'resize_length'}
        if unknown:
            raise KeyError(f'TALDetector test_cfg: unknown keys '
                           f'{sorted(unknown)}; expected sliding_window or '
                           'resize_length')
        if len(self.test_cfg) > 1:
            raise ValueError('TALDetector test_cfg: give sliding_window or '
                             'resize_length, not both')
        divisor = getattr(self.data_preprocessor, 'pad_size_divisor', 1)
        win = self.test_cfg.get('sliding_window')
        if win is not None:
            extra = set(win) - {'window', 'overlap', 'nms'}
            if extra:
                raise KeyError('TALDetector test_cfg.sliding_window: unknown '
                               f'keys {sorted(extra)}')
            sliding_window_starts(1, int(win['window']),
                                  int(win.get('overlap', 0)))  # validates
        length = win['window'] if win else self.test_cfg.get('resize_length')
        if length is not None and (int(length) < 2
                                   or int(length) % divisor):
            raise ValueError(
                f'TALDetector test_cfg: length {length} must be >= 2 and a '
                f'multiple of the data preprocessor pad_size_divisor '
                f'{divisor}')

    @property
    def with_neck(self) -> bool:
        return self.neck is not None

    def extract_feat(self, inputs: Tensor,
                     masks: Tensor) -> Tuple[Feats, Masks]:
        """Run the backbone and the neck.

        Args:
            inputs (Tensor): ``(B, C, T)``.
            masks (Tensor): ``(B, T)`` bool.

        Returns:
            tuple: per-level features ``(B, D, T_l)`` and masks ``(B, T_l)``.
        """
        if self.backbone is not None:
            feats, feat_masks = self.backbone(inputs, masks)
        else:
            feats, feat_masks = (inputs, ), (masks, )
        if self.neck is not None:
            feats, feat_masks = self.neck(tuple(feats), tuple(feat_masks))
        return tuple(feats), tuple(feat_masks)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor',
                masks: Optional[Tensor] = None
                ) -> Union[Dict[str, Tensor], List, Tuple]:
        """The mmengine ``BaseModel`` contract: 'loss', 'predict', 'tensor'."""
        if masks is None:
            masks = inputs.new_ones(
                (inputs.shape[0], inputs.shape[-1]), dtype=torch.bool)
        if mode == 'loss':
            return self.loss(inputs, masks, data_samples)
        if mode == 'predict':
            return self.predict(inputs, masks, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, masks)
        raise RuntimeError(f'Invalid mode "{mode}": expected "loss", '
                           '"predict" or "tensor".')

    def loss(self, inputs: Tensor, masks: Tensor,
             data_samples: Sequence) -> Dict[str, Tensor]:
        feats, feat_masks = self.extract_feat(inputs, masks)
        losses = self.head.loss(feats, feat_masks, data_samples)
        for part in (self.backbone, self.neck):
            if part is not None and hasattr(part, 'loss_aux'):
                clash = update_disjoint(losses, part.loss_aux(data_samples))
                if clash:
                    raise KeyError(f'{type(part).__name__}.loss_aux returned '
                                   f'{clash}, already in the losses.')
        return losses

    def predict(self, inputs: Tensor, masks: Tensor,
                data_samples: Sequence) -> List:
        """Returns ``data_samples`` with ``pred_instances`` set (segments in
        seconds, scores, labels). Long videos follow ``test_cfg``."""
        win = self.test_cfg.get('sliding_window')
        lengths = masks.sum(dim=1).tolist()
        if 'resize_length' in self.test_cfg:
            results = [self._predict_resized(inputs[i:i + 1, :, :int(n)],
                                             data_samples[i])
                       for i, n in enumerate(lengths)]
        elif win is not None and max(lengths) > int(win['window']):
            results = [self._predict_windows(inputs[i:i + 1, :, :int(n)],
                                             data_samples[i], win)
                       for i, n in enumerate(lengths)]
        else:
            results = self._predict_once(inputs, masks, data_samples)
        for data_sample, pred_instances in zip(data_samples, results):
            data_sample.pred_instances = pred_instances
        return list(data_samples)

    def _predict_once(self, inputs: Tensor, masks: Tensor,
                      data_samples: Sequence) -> List:
        feats, feat_masks = self.extract_feat(inputs, masks)
        return self.head.predict(feats, feat_masks, data_samples)

    @staticmethod
    def _with_meta(data_sample, **meta):
        """A metainfo-only copy of ``data_sample`` with ``meta`` changed."""
        return data_sample.__class__(metainfo={**data_sample.metainfo,
                                               **meta})

    def _pad_to(self, x: Tensor, length: int) -> Tuple[Tensor, Tensor]:
        """``(1, C, t)`` -> ``(1, C, length)`` padded and its mask."""
        t = x.shape[-1]
        mask = x.new_zeros((1, length), dtype=torch.bool)
        mask[:, :t] = True
        if t < length:
            pad = float(getattr(self.data_preprocessor, 'pad_value', 0.0))
            x = torch.nn.functional.pad(x, (0, length - t), value=pad)
        return x, mask

    def _predict_windows(self, x: Tensor, data_sample, win: dict):
        """One video ``(1, C, T)`` by sliding windows, merged by NMS."""
        window, overlap = int(win['window']), int(win.get('overlap', 0))
        offset = float(data_sample.metainfo.get('feat_offset', 0))
        starts = sliding_window_starts(x.shape[-1], window, overlap)
        chunks, masks, samples = [], [], []
        for s in starts:
            chunk, mask = self._pad_to(x[..., s:s + window], window)
            chunks.append(chunk)
            masks.append(mask)
            samples.append(self._with_meta(data_sample,
                                           feat_offset=offset + s))
        preds = self._predict_once(torch.cat(chunks), torch.cat(masks),
                                   samples)
        if len(preds) == 1:
            return preds[0]
        nms_cfg = win.get('nms') or self.head.test_cfg['nms']
        segs, scores, labels = multiclass_segment_nms(
            torch.cat([p.segments for p in preds]),
            torch.cat([p.scores for p in preds]),
            torch.cat([p.labels for p in preds]), nms_cfg)
        return preds[0].__class__(segments=segs, scores=scores,
                                  labels=labels)

    def _predict_resized(self, x: Tensor, data_sample):
        """One video ``(1, C, T)`` resized to ``resize_length`` snippets;
        the head maps its grid back through a scaled ``feat_stride`` (grid
        ``g`` of the resized sequence is ``g * scale`` of the video's)."""
        length = int(self.test_cfg['resize_length'])
        scale = resized_grid_scale(x.shape[-1], length)
        meta = data_sample.metainfo
        if scale == 0:  # a one-snippet video: every position is snippet 0
            scale = 1e-12
        sample = self._with_meta(
            data_sample,
            feat_stride=float(meta['feat_stride']) * scale,
            feat_offset=float(meta.get('feat_offset', 0)) / scale)
        resized = resize_time(x, length)
        mask = resized.new_ones((1, length), dtype=torch.bool)
        return self._predict_once(resized, mask, [sample])[0]

    def _forward(self, inputs: Tensor, masks: Tensor) -> Tuple:
        """Raw head outputs (the ONNX export path)."""
        feats, feat_masks = self.extract_feat(inputs, masks)
        return self.head(feats, feat_masks)
