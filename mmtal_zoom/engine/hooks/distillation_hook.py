"""Knowledge distillation from a uniform-depth teacher (Temporal Zoom Nets).

The hook owns the teacher: it builds it from a config, loads its checkpoint
with mmengine's ``load_checkpoint`` (``torch.load`` with ``weights_only=True``:
no arbitrary code from the file),
freezes it, and before every training iteration runs it on the batch — with
the student's own data preprocessor, so padding and masks are identical —
storing its raw head outputs in each data sample (``kd_teacher_outs``). A
:class:`~mmtal_zoom.models.heads.DistillationHead` in the student turns them
into ``loss_kd_cls`` / ``loss_kd_reg``. The teacher is not a sub-module of
the student: it is neither optimised, nor saved, nor wrapped by DDP.
"""
import os
from typing import Any, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import load_checkpoint

from mmaction.registry import HOOKS, MODELS
from ...models.heads.distillation_head import KD_FIELD


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _slice(outs: Any, i: int) -> Any:
    """Sample ``i`` of a nested tuple / list of ``(B, ...)`` tensors."""
    if isinstance(outs, torch.Tensor):
        return outs[i]
    if isinstance(outs, (list, tuple)):
        return type(outs)(_slice(o, i) for o in outs)
    return outs


def load_teacher(teacher: torch.nn.Module, path: str,
                 strict: bool = True) -> None:
    """Load an mmengine checkpoint into ``teacher`` with mmengine's
    :func:`~mmengine.runner.load_checkpoint` (``torch.load`` with its
    ``weights_only=True`` default; mmengine's own globals are allow-listed by
    :mod:`mmtal_zoom.compat`), dropping a DDP ``module.`` prefix. EMA
    checkpoints already hold the averaged weights under ``state_dict``
    (mmengine's ``EMAHook`` swaps them in). Errors name the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'DistillationHook: teacher checkpoint {path!r} does not exist; '
            'train the uniform-depth teacher first (e.g. configs/zoom/'
            'temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py) and '
            'point teacher_checkpoint at it.')
    try:
        load_checkpoint(teacher, path, map_location='cpu', strict=strict,
                        logger='silent', revise_keys=[(r'^module\.', '')])
    except RuntimeError as err:
        # only mmengine's strict key mismatch (its message lists keys, not
        # the file; ``init_localizer`` narrows the same way); anything else,
        # e.g. a corrupt file, propagates as raised
        if 'do not match' not in str(err):
            raise
        reason = ' '.join(str(err).split())
        raise ValueError(f'DistillationHook: {path!r} does not match the '
                         f'teacher config: {reason[:300]}') from err


@HOOKS.register_module()
class DistillationHook(Hook):
    """Run a frozen uniform-depth teacher on every training batch.

    Args:
        teacher_config (str | dict): a config file whose ``model`` is the
            teacher, or the teacher's model config dict.
        teacher_checkpoint (str, optional): its checkpoint (required unless
            ``teacher_config`` is a dict and the teacher is used untrained in
            tests).
        field (str): data-sample field the outputs go to (the
            ``DistillationHead``'s ``field``).
        strict (bool): strict state-dict loading.
    """

    priority = 'NORMAL'

    def __init__(self, teacher_config: Union[str, dict],
                 teacher_checkpoint: Optional[str] = None,
                 field: str = KD_FIELD, strict: bool = True):
        self.teacher_config = teacher_config
        self.teacher_checkpoint = teacher_checkpoint
        self.field = field
        self.strict = strict
        self.teacher = None

    def build_teacher(self) -> torch.nn.Module:
        cfg = self.teacher_config
        if isinstance(cfg, str):
            if not os.path.isfile(cfg):
                raise FileNotFoundError(
                    f'DistillationHook: teacher config {cfg!r} not found.')
            cfg = Config.fromfile(cfg).model
        elif isinstance(cfg, (dict, ConfigDict)) and 'model' in cfg and \
                'type' not in cfg:
            cfg = cfg['model']
        teacher = MODELS.build(cfg)
        if self.teacher_checkpoint:
            load_teacher(teacher, self.teacher_checkpoint, self.strict)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        return teacher

    def before_run(self, runner) -> None:
        self.teacher = self.build_teacher()
        params = list(_unwrap(runner.model).parameters())
        if params:
            self.teacher.to(params[0].device)

    @torch.no_grad()
    def teacher_outputs(self, model, data_batch: dict):
        """The teacher's raw head outputs on a (raw) training batch."""
        data = model.data_preprocessor(data_batch, training=True)
        return self.teacher(data['inputs'], mode='tensor',
                            masks=data['masks'])

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if data_batch is None or self.teacher is None:
            return
        model = _unwrap(runner.model)
        outs = self.teacher_outputs(model, data_batch)
        for i, sample in enumerate(data_batch['data_samples']):
            sample.set_field(_slice(outs, i), self.field, field_type='data')
