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
                 init_cfg: Optional[dict] = None):
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
                aux = part.loss_aux(data_samples)
                clash = set(aux) & set(losses)
                if clash:
                    raise KeyError(f'{type(part).__name__}.loss_aux returned '
                                   f'{sorted(clash)}, already in the losses.')
                losses.update(aux)
        return losses

    def predict(self, inputs: Tensor, masks: Tensor,
                data_samples: Sequence) -> List:
        """Returns ``data_samples`` with ``pred_instances`` set (segments in
        seconds, scores, labels)."""
        feats, feat_masks = self.extract_feat(inputs, masks)
        results = self.head.predict(feats, feat_masks, data_samples)
        for data_sample, pred_instances in zip(data_samples, results):
            data_sample.pred_instances = pred_instances
        return list(data_samples)

    def _forward(self, inputs: Tensor, masks: Tensor) -> Tuple:
        """Raw head outputs (the ONNX export path)."""
        feats, feat_masks = self.extract_feat(inputs, masks)
        return self.head(feats, feat_masks)
