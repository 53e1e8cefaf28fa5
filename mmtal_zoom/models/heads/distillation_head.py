"""Knowledge distillation from a uniform-depth teacher (Temporal Zoom Nets).

Temporal Zoom Networks (Shihab et al.), abstract: "Training requires 1.29×
baseline FLOPs" and "knowledge distillation further reduces this to 1.1×
while retaining 99.5% accuracy".
The paper's recipe is not available; this project's design:

* :class:`~mmtal_zoom.engine.hooks.DistillationHook` holds the teacher (a
  uniform-depth model loaded from a checkpoint, ``weights_only``), runs it on
  every training batch and stores its raw head outputs in each data sample
  (``kd_teacher_outs``). The teacher is never a sub-module of the student:
  it is not optimised, not saved, not wrapped by DDP.
* ``DistillationHead`` wraps any student head and adds the KD terms to the
  student's losses when the samples carry teacher outputs (no teacher: the
  student's losses only), so the detector stays pure composition.

KD terms (per pyramid level, valid points only; outputs matched by position
in the heads' ``forward`` tuples, ``cls_index`` / ``reg_index``):

* ``loss_kd_cls`` = ``T^2 * KL(Bernoulli(sigmoid(t / T)) || Bernoulli(
  sigmoid(s / T)))`` summed over classes, averaged over valid points;
* ``loss_kd_reg`` = L1 between the student's and teacher's regression
  outputs, each point weighted by the teacher's top class probability (its
  regression only matters where it sees an action).

``loss_kd_reg`` is **off by default** (``reg_index=None``): measured on the
embedded benchmark (docs/zoom.md, ``zoom_experiments.py kd --kd-terms cls_reg
cls reg``, seed 0, 4 epochs), distilling ATR + BDR from the uniform-depth
model with both terms collapses the student to 1.24 average mAP and with
``loss_kd_reg`` alone to 2.75, while ``loss_kd_cls`` alone keeps 25.07 (25.42
without distillation). At the start of training the L1 term is the largest
loss (2.76) and its gradient (norm 30 vs 6) dominates the update under the
configs' ``clip_grad`` max-norm 1.0. Pass ``reg_index`` to opt in.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmaction.registry import MODELS
from .tal_head_wrapper import TALHeadWrapper

KD_FIELD = 'kd_teacher_outs'


def stack_teacher_outputs(data_samples: Sequence, index: int,
                          field: str = KD_FIELD) -> Optional[List[Tensor]]:
    """Teacher output ``index`` of every sample -> per-level ``(B, X, T_l)``;
    ``None`` if any sample lacks teacher outputs."""
    per_sample = []
    for sample in data_samples:
        outs = sample.get(field, None)
        if outs is None:
            return None
        per_sample.append(outs[index])
    return [torch.stack(levels) for levels in zip(*per_sample)]


@MODELS.register_module()
class DistillationHead(TALHeadWrapper):
    """Wrap a student head; add distillation terms from teacher outputs.

    Args:
        student (dict): config of any :class:`BaseTALHead` (built as
            ``self.inner_head``; decoding and post-processing are its own,
            :class:`TALHeadWrapper`).
        cls_index (int): position of the class logits ``[(B, K, T_l)]`` in
            the student's and teacher's ``forward`` outputs.
        reg_index (int, optional): position of the regression outputs
            ``[(B, 2, T_l)]``; ``None`` (default) distils classification
            only (see the module doc for why).
        cls_weight (float): weight of ``loss_kd_cls``.
        reg_weight (float): weight of ``loss_kd_reg``.
        temperature (float): ``T`` of the soft targets.
        field (str): data-sample field holding the teacher outputs.
    """

    def __init__(self, student: dict, cls_index: int = 0,
                 reg_index: Optional[int] = None, cls_weight: float = 1.0,
                 reg_weight: float = 1.0, temperature: float = 1.0,
                 field: str = KD_FIELD, init_cfg=None):
        super().__init__(student, init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}.')
        self.cls_index, self.reg_index = cls_index, reg_index
        self.cls_weight, self.reg_weight = cls_weight, reg_weight
        self.temperature = float(temperature)
        self.field = field

    legacy_prefix = 'student'

    def loss_by_feat(self, *outs, masks: Sequence[Tensor],
                     data_samples: Sequence) -> Dict[str, Tensor]:
        losses = dict(self.inner_head.loss_by_feat(
            *outs, masks=masks, data_samples=data_samples))
        t_cls = stack_teacher_outputs(data_samples, self.cls_index,
                                      self.field)
        if t_cls is None:
            return losses
        losses.update(self.kd_losses(outs, t_cls, masks, data_samples))
        return losses

    def kd_losses(self, outs: Sequence, t_cls: List[Tensor],
                  masks: Sequence[Tensor],
                  data_samples: Sequence) -> Dict[str, Tensor]:
        """``loss_kd_cls`` (+ ``loss_kd_reg``), see the module doc."""
        s_cls = outs[self.cls_index]
        if len(s_cls) != len(t_cls):
            raise ValueError(f'Student has {len(s_cls)} levels, teacher '
                             f'{len(t_cls)}: they must match for KD.')
        temp = self.temperature
        valid = torch.cat([m for m in masks], dim=1)  # (B, P)
        num_valid = valid.sum().clamp(min=1).to(s_cls[0].dtype)
        s_logit = torch.cat([s.transpose(1, 2) for s in s_cls], dim=1)
        t_logit = torch.cat([t.transpose(1, 2) for t in t_cls],
                            dim=1).to(s_logit)
        if s_logit.shape != t_logit.shape:
            raise ValueError(f'Student class logits {tuple(s_logit.shape)} '
                             f'and teacher {tuple(t_logit.shape)} differ.')
        p_t = torch.sigmoid(t_logit / temp)
        # Bernoulli KL = BCE(student, p_t) - H(p_t)
        bce = F.binary_cross_entropy_with_logits(s_logit / temp, p_t,
                                                 reduction='none')
        ent = F.binary_cross_entropy(p_t, p_t, reduction='none')
        kl = (bce - ent).sum(-1) * valid
        losses = dict(loss_kd_cls=self.cls_weight * temp**2 * kl.sum()
                      / num_valid)
        if self.reg_index is not None:
            t_reg = stack_teacher_outputs(data_samples, self.reg_index,
                                          self.field)
            s_reg = torch.cat(
                [s.transpose(1, 2) for s in outs[self.reg_index]], dim=1)
            t_reg = torch.cat([t.transpose(1, 2) for t in t_reg],
                              dim=1).to(s_reg)
            w = torch.sigmoid(t_logit).amax(-1) * valid  # (B, P)
            l1 = (s_reg - t_reg).abs().sum(-1)
            losses['loss_kd_reg'] = self.reg_weight * (l1 * w).sum() / (
                w.sum().clamp(min=1e-6))
        return losses
