"""Hooks (HOOKS): training-schedule logic for Temporal Zoom Networks (ATR
budget annealing, distillation)."""
from .atr_budget_hook import ATRBudgetAnnealHook
from .distillation_hook import DistillationHook

__all__ = ['ATRBudgetAnnealHook', 'DistillationHook']
