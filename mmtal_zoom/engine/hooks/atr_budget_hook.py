"""Anneal ATR's compute budget and router temperature over training.

Temporal Zoom Networks (Shihab et al.) train the continuous-depth router with a
compute-budget term; how the budget is scheduled is not given. Design here:
start generous (most tokens use most of the deep stage, as the uniform
network would) and soft (high temperature: ``tau`` spread around its mean),
then move linearly or by a cosine to the final budget and a low temperature
(``tau`` close to 0 or 1, which is what makes sparse execution cheap at test
time). Also logs the router's statistics (``loss_budget``, ``mean_tau``,
``active_fraction``, ``pruned_fraction``) next to the losses.
"""
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS
from ...models.backbones.atr_backbone import ATRBackbone
from ...models.layers.atr_depth_router import ATRDepthRouter


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class ATRBudgetAnnealHook(Hook):
    """Set every :class:`ATRDepthRouter`'s ``budget_target`` and
    ``temperature`` before each training iteration.

    Args:
        budget (Sequence[float], optional): ``(start, end)`` target mean
            ``tau``; ``None`` leaves the routers' own value.
        temperature (Sequence[float], optional): ``(start, end)``.
        begin (float): progress (epochs if ``by_epoch`` else iterations)
            at which annealing starts; before it the start values hold.
        end (float, optional): progress at which the end values are reached
            (default: the end of training).
        by_epoch (bool): count progress in (fractional) epochs.
        schedule (str): ``'linear'`` or ``'cosine'``.
        log_stats (bool): push the backbone's ``last_stats`` to the message
            hub after each iteration (logged as ``loss_budget``, ...).
    """

    priority = 'NORMAL'

    def __init__(self,
                 budget: Optional[Sequence[float]] = (0.6, 0.3),
                 temperature: Optional[Sequence[float]] = (1.0, 0.5),
                 begin: float = 0.0,
                 end: Optional[float] = None,
                 by_epoch: bool = True,
                 schedule: str = 'linear',
                 log_stats: bool = True):
        if schedule not in ('linear', 'cosine'):
            raise ValueError(f"schedule must be 'linear' or 'cosine', got "
                             f'{schedule!r}.')
        for name, pair in (('budget', budget), ('temperature', temperature)):
            if pair is not None and len(pair) != 2:
                raise ValueError(f'{name} must be (start, end), got {pair}.')
        if budget is not None and not all(0 <= b <= 1 for b in budget):
            raise ValueError(f'budget values must be in [0, 1], got {budget}.')
        if temperature is not None and not all(t > 0 for t in temperature):
            raise ValueError(f'temperatures must be > 0, got {temperature}.')
        self.budget = budget
        self.temperature = temperature
        self.begin, self.end = float(begin), end
        self.by_epoch = by_epoch
        self.schedule = schedule
        self.log_stats = log_stats

    def progress(self, runner, batch_idx: int) -> float:
        """Annealing progress in ``[0, 1]`` at this iteration."""
        if self.by_epoch:
            now = runner.epoch + batch_idx / max(len(runner.train_dataloader),
                                                 1)
            total = runner.max_epochs
        else:
            now, total = runner.iter, runner.max_iters
        end = float(self.end if self.end is not None else total)
        if end <= self.begin:
            return 1.0
        p = min(max((now - self.begin) / (end - self.begin), 0.0), 1.0)
        if self.schedule == 'cosine':
            p = 0.5 * (1.0 - math.cos(math.pi * p))
        return p

    @staticmethod
    def _interp(pair, p: float) -> float:
        return float(pair[0] + (pair[1] - pair[0]) * p)

    def routers(self, runner):
        return [m for m in _unwrap(runner.model).modules()
                if isinstance(m, ATRDepthRouter)]

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        p = self.progress(runner, batch_idx)
        for router in self.routers(runner):
            if self.budget is not None:
                router.budget_target = self._interp(self.budget, p)
            if self.temperature is not None:
                router.temperature = self._interp(self.temperature, p)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.log_stats:
            return
        hub = runner.message_hub
        for module in _unwrap(runner.model).modules():
            if isinstance(module, ATRBackbone) and module.with_router:
                for key, value in module.last_stats.items():
                    hub.update_scalar(f'train/{key}', float(value))
                hub.update_scalar('train/atr_budget_target',
                                  module.router.budget_target)
                hub.update_scalar('train/atr_temperature',
                                  module.router.temperature)
                break
