"""Detections from any localizer's class-agnostic output and an external
video classifier: BMN, BMN + RCL and class-agnostic TAL detectors scored by
``TALDetectionMetric``.

``ProposalDetector`` composes (it does not copy): it holds the localizer
under ``localizer`` and the score fusion (``TASK_UTILS``, e.g.
:class:`~mmtal_zoom.models.task_modules.VideoClassifierFusion`) under
``fusion``. Training is the localizer's own; prediction runs the localizer,
reads its proposals -- MMAction2's ``dict(video_name, proposal_list)``
(BMN, ``BMNRCL``) or ``pred_instances`` (``TALDetector``, whose labels are
ignored) -- fuses them with the class scores and returns
``ActionDataSample`` objects with ``pred_instances`` and the metainfo
``TALDetectionMetric`` reads.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmaction.registry import MODELS, TASK_UTILS
from mmaction.structures import ActionDataSample

PREFIX = 'localizer.'


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


@MODELS.register_module()
class ProposalDetector(BaseModel):
    """A localizer plus video-level classifier score fusion.

    Args:
        localizer (dict): config of the proposal generator or class-agnostic
            detector (its ``data_preprocessor``, if any, becomes this
            model's: the runner calls the outer model's).
        fusion (dict): config of the fusion (``TASK_UTILS``), called as
            ``fusion(video_name, segments, scores) -> (segments, scores,
            labels)`` with a ``label_of(class_name)`` method.
        class_agnostic (bool): make the localizer class-agnostic: its
            ``head.num_classes`` (if it has one) becomes 1 and it trains on
            labels all 0, so a multi-class detector config and annotation
            file serve as they are; the evaluation keeps the real labels.
            BMN-style localizers have neither to change.
        data_preprocessor (dict, optional): overrides the localizer's.
        init_cfg (dict, optional): weight initialisation config.

    Checkpoints of the bare localizer load as they are (their keys gain the
    ``localizer.`` prefix on load), so a trained BMN or detector is evaluated
    with fusion without converting its checkpoint.
    """

    def __init__(self,
                 localizer: dict,
                 fusion: dict,
                 class_agnostic: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        localizer = dict(localizer)
        if class_agnostic and isinstance(localizer.get('head'), dict) and \
                'num_classes' in localizer['head']:
            localizer['head'] = dict(localizer['head'], num_classes=1)
        inner_pre = localizer.pop('data_preprocessor', None)
        data_preprocessor = data_preprocessor or inner_pre
        if data_preprocessor is None:
            if localizer.get('type') == 'TALDetector':
                data_preprocessor = dict(type='TALDataPreprocessor')
            else:
                # what a stock MMAction2 localizer (BMN) gets
                data_preprocessor = dict(type='BaseDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.localizer = MODELS.build(localizer)
        self.fusion = TASK_UTILS.build(fusion)
        self.class_agnostic = class_agnostic
        self._register_load_state_dict_pre_hook(self._add_prefix)

    @staticmethod
    def _add_prefix(state_dict, prefix, *args, **kwargs) -> None:
        """A bare localizer's keys -> ``localizer.<key>`` (its data
        preprocessor's stay: it is this model's)."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if any(k.startswith(prefix + PREFIX) for k in own):
            return
        for k in own:
            rest = k[len(prefix):]
            if not rest.startswith('data_preprocessor.'):
                state_dict[prefix + PREFIX + rest] = state_dict.pop(k)

    def forward(self, inputs, data_samples: Optional[List] = None,
                mode: str = 'tensor', **kwargs):
        if mode == 'loss':
            return self.loss(inputs, data_samples, **kwargs)
        if mode == 'predict':
            return self.predict(inputs, data_samples, **kwargs)
        if mode == 'tensor':
            return self.localizer(inputs, data_samples, mode='tensor',
                                  **kwargs)
        raise RuntimeError(f'Invalid mode "{mode}": expected "loss", '
                           '"predict" or "tensor".')

    def loss(self, inputs, data_samples: Sequence, **kwargs) -> Dict:
        if self.class_agnostic:
            for sample in data_samples:
                gt = getattr(sample, 'gt_instances', None)
                if gt is not None and 'labels' in gt:
                    gt.labels = torch.zeros_like(gt.labels)
        return self.localizer(inputs, data_samples, mode='loss', **kwargs)

    def predict(self, inputs, data_samples: Sequence,
                **kwargs) -> List[ActionDataSample]:
        outputs = self.localizer(inputs, data_samples, mode='predict',
                                 **kwargs)
        if len(outputs) != len(data_samples):
            raise RuntimeError(f'{type(self.localizer).__name__} returned '
                               f'{len(outputs)} results for '
                               f'{len(data_samples)} videos')
        return [self._detections(out, sample)
                for out, sample in zip(outputs, data_samples)]

    def _detections(self, out: Union[dict, ActionDataSample],
                    sample) -> ActionDataSample:
        info = dict(sample.metainfo)
        if isinstance(out, dict):  # MMAction2's proposal format (BMN)
            name = out['video_name']
            props = out['proposal_list']
            segments = np.array([p['segment'] for p in props],
                                dtype=np.float64).reshape(-1, 2)
            scores = np.array([p['score'] for p in props], dtype=np.float64)
        else:
            name = out.metainfo.get('video_name', info.get('video_name'))
            pred = out.pred_instances
            segments, scores = _numpy(pred.segments), _numpy(pred.scores)
            info.update(out.metainfo)
        segs, scs, labels = self.fusion(name, segments, scores)
        result = ActionDataSample()
        meta = dict(info, video_name=name)
        if 'eval_gt_segments' not in meta:
            meta.update(self._ground_truth(name, info))
        result.set_metainfo(meta)
        result.pred_instances = InstanceData(
            segments=torch.as_tensor(segs, dtype=torch.float32),
            scores=torch.as_tensor(scs, dtype=torch.float32),
            labels=torch.as_tensor(labels, dtype=torch.long))
        return result

    def _ground_truth(self, name: str, info: dict) -> dict:
        """``TALDetectionMetric``'s metainfo from MMAction2's localization
        metainfo (``annotations`` with class names, ``duration_second``)."""
        if 'annotations' not in info:
            raise KeyError(
                f'ProposalDetector: video "{name}" has neither '
                "'eval_gt_segments' nor 'annotations' in its metainfo: add "
                "'annotations' to PackLocalizationInputs(meta_keys=...)")
        segs, labels = [], []
        for ann in info['annotations']:
            segs.append([float(x) for x in ann['segment']])
            try:
                labels.append(self.fusion.label_of(ann['label']))
            except ValueError as exc:
                raise ValueError(f'video "{name}": {exc}') from None
        return dict(duration=float(info.get('duration_second', 0.0)) or None,
                    eval_gt_segments=np.array(segs, np.float64).reshape(-1, 2),
                    eval_gt_labels=np.array(labels, np.int64))
