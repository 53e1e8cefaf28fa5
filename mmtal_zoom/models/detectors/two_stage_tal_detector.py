"""The two-stage temporal action detector: composition only.

Follows mmdetection's ``TwoStageDetector``: ``extract_feat`` runs the
backbone and the neck; the first stage (a dense head, mmdetection's RPN
head) gives its losses and proposals (``loss_and_predict``) and the second
stage (mmdetection's RoI head) refines the proposals
(``roi_head.loss(feats, masks, proposals, data_samples)`` /
``roi_head.predict(...)``). At test time the refined proposals go through
the first stage's per-video post-processing
(:meth:`BaseTALHead.predict_by_feat_single`: threshold, top-k, NMS,
seconds), so both stages share one ``test_cfg`` for it.
"""
from typing import Dict, List, Optional, Sequence

from torch import Tensor

from mmaction.registry import MODELS
from .tal_detector import TALDetector


@MODELS.register_module()
class TwoStageTALDetector(TALDetector):
    """Backbone -> neck -> first-stage head (proposals) -> second stage.

    Args:
        head (dict): the first stage, any
            :class:`~mmtal_zoom.models.heads.BaseTALHead`.
        roi_head (dict): the second stage, e.g.
            :class:`~mmtal_zoom.models.roi_heads.RCLRoIHead`; its
            ``refiner.in_channels`` defaults to the first stage's
            ``in_channels`` and its ``stride`` to the first stage's stride
            of ``refine_level``.
        backbone, neck, data_preprocessor, init_cfg: as
            :class:`TALDetector`.
        train_cfg (dict, optional): ``num_proposals`` per video handed to
            the second stage in training (256).
        test_cfg (dict, optional): ``num_proposals`` per video at test time
            (1000).
    """

    def __init__(self,
                 head: dict,
                 roi_head: dict,
                 backbone: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(head=head, backbone=backbone, neck=neck,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        roi_head = dict(roi_head)
        refiner = dict(roi_head.get('refiner') or {})
        refiner.setdefault('in_channels', head.get('in_channels'))
        roi_head['refiner'] = refiner
        if roi_head.get('stride') is None:
            strides = getattr(self.head.prior_generator, 'strides', None)
            level = int(roi_head.get('refine_level', 0))
            roi_head['stride'] = float(strides[level]) if strides else 1.0
        self.roi_head = MODELS.build(roi_head)
        self.train_cfg = {'num_proposals': 256, **(train_cfg or {})}
        self.test_cfg = {'num_proposals': 1000, **(test_cfg or {})}

    def loss(self, inputs: Tensor, masks: Tensor,
             data_samples: Sequence) -> Dict[str, Tensor]:
        feats, feat_masks = self.extract_feat(inputs, masks)
        losses, proposals = self.head.loss_and_predict(
            feats, feat_masks, data_samples,
            self.train_cfg['num_proposals'])
        losses.update(self.roi_head.loss(feats, feat_masks, proposals,
                                         data_samples))
        return losses

    def predict(self, inputs: Tensor, masks: Tensor,
                data_samples: Sequence) -> List:
        """Returns ``data_samples`` with ``pred_instances`` set (segments in
        seconds, scores, labels)."""
        feats, feat_masks = self.extract_feat(inputs, masks)
        outs = self.head(feats, feat_masks)
        proposals = self.head.predict_proposals(
            outs, feat_masks, self.test_cfg['num_proposals'])
        refined = self.roi_head.predict(feats, feat_masks, proposals,
                                        data_samples)
        for sample, r in zip(data_samples, refined):
            sample.pred_instances = self.head.predict_by_feat_single(
                r.cls_scores, r.segments, r.valid, sample.metainfo)
        return list(data_samples)
