"""Base class of heads that wrap another dense TAL head.

Parts of Temporal Zoom Networks extend an existing head rather than replace
it: BDR snapping and distillation from a uniform-depth teacher. (RCL's
refinement of another head's proposals is a second stage instead:
:class:`~mmtal_zoom.models.detectors.TwoStageTALDetector`.) mmdetection has
no 1-D counterpart; this base gives them one contract (own design):

* the wrapped head is ``self.inner_head`` (each wrapper keeps the config
  argument that names its role: ``base_head``, ``student``);
* ``num_classes``, ``prior_generator`` and ``test_cfg`` are the inner
  head's (``BaseTALHead.__init__`` is not run: it would build a second
  prior generator and test config);
* ``forward``, ``loss_by_feat``, ``decode_by_feat`` and
  ``predict_by_feat_single`` delegate to the inner head, so
  :meth:`BaseTALHead.predict_by_feat` runs the wrapper's (possibly
  overridden) decoding followed by the inner head's per-video
  post-processing; a wrapper overrides only what it changes.

State dicts: the inner head's weights live under ``inner_head.``;
checkpoints written before this base existed (``base_head.`` /
``student.``) are mapped on load (:attr:`legacy_prefix`).
"""
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS
from .base_tal_head import BaseTALHead


class TALHeadWrapper(BaseTALHead):
    """Wrap a :class:`BaseTALHead` built from ``inner_head``.

    Args:
        inner_head (dict): config of the wrapped head (a ``BaseTALHead``).
        init_cfg (dict, optional): weight initialisation.

    Class attributes:
        legacy_prefix (str, optional): the attribute name under which this
            wrapper stored its inner head before; its state-dict keys are
            renamed to ``inner_head.`` on load.
    """

    legacy_prefix: Optional[str] = None

    def __init__(self, inner_head: dict, init_cfg: Optional[dict] = None):
        BaseModule.__init__(self, init_cfg=init_cfg)
        self.inner_head = MODELS.build(inner_head)
        if not isinstance(self.inner_head, BaseTALHead):
            raise TypeError(
                f'{type(self).__name__} wraps a BaseTALHead, got '
                f'{type(self.inner_head).__name__}.')
        if self.legacy_prefix:
            self._register_load_state_dict_pre_hook(self._rename_legacy_keys)

    def _rename_legacy_keys(self, state_dict, prefix, *args) -> None:
        old = prefix + self.legacy_prefix + '.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'inner_head.' + key[len(old):]] = \
                state_dict.pop(key)

    # attributes BaseTALHead's callers rely on come from the inner head
    @property
    def num_classes(self) -> int:
        return self.inner_head.num_classes

    @property
    def prior_generator(self):
        return self.inner_head.prior_generator

    @property
    def test_cfg(self) -> dict:
        return self.inner_head.test_cfg

    def forward(self, feats: Sequence[Tensor],
                masks: Sequence[Tensor]) -> Tuple:
        return tuple(self.inner_head(feats, masks))

    def loss_by_feat(self, *outs, masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        return self.inner_head.loss_by_feat(*outs, masks=masks,
                                            data_samples=data_samples)

    def decode_by_feat(self, *outs, masks: Sequence[Tensor]
                       ) -> Tuple[List[Tensor], List[Tensor]]:
        return self.inner_head.decode_by_feat(*outs, masks=masks)

    def predict_by_feat_single(self, scores: Tensor, segments: Tensor,
                               valid: Tensor, meta: dict,
                               level_sizes: Optional[Sequence[int]] = None
                               ) -> InstanceData:
        return self.inner_head.predict_by_feat_single(
            scores, segments, valid, meta, level_sizes)
