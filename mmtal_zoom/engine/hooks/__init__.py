"""Hooks (HOOKS): training-schedule logic for the Zoom model (issue #4)."""
from .atr_budget_hook import ATRBudgetAnnealHook
from .distillation_hook import DistillationHook

__all__ = ['ATRBudgetAnnealHook', 'DistillationHook']
