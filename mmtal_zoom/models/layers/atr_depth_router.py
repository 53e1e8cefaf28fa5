"""The depth router of Adaptive Temporal Refinement (ATR).

Temporal Zoom Networks (Shihab et al., Fig. 1): "(1) a shallow transformer
produces coarse predictions and uncertainty; (2) an MLP predicts continuous
depth allocation tau_t". Only the captions exist; this project's design:

* **coarse predictions** from the shallow features (a masked conv, kernel
  ``kernel_size``): actionness, start-ness and end-ness logits, turned into
  probabilities ``p`` and their binary entropies ``H(p) / log 2`` (how unsure
  the coarse stage is);
* **uncertainty**: a learned non-negative per-step scalar (softplus of a
  masked conv);
* **local contrast**: ``||x_{t+1} - x_{t-1}|| / (2 sqrt(D))`` on the
  LayerNorm-ed shallow features — the feature change that marks a boundary
  (the paper's Theorem 1 setting: boundary evidence spreads over a kernel of
  width kappa), zero in flat background or mid-action;
* **MLP** (1x1 convs, no output bias) from these 8 cues to a token-dependent
  logit ``z_t``; ``tau_t = sigmoid(z_t / temperature + beta)`` with a
  learned scalar operating point ``beta``. The temperature only sharpens the
  token-to-token differences: cooling it does not move the mean depth, so
  the bias need not drift to compensate (and an EMA of the weights, which
  lags behind such a drift while the temperature buffer does not, stays
  consistent with it).

The coarse outputs are not supervised separately: the backbone has no ground
truth (the detector is pure composition); they are learned through the depth
weights, which are differentiable in ``tau`` (``clamp(tau K - k, 0, 1)``),
and through the budget term. The last MLP layer starts at zero and ``beta`` at
``logit(init_tau)``, so an untrained router spends exactly the initial
budget on every token.

**Token pruning**: tokens whose depth ``tau_t K`` falls below
``prune_depth`` layers are removed from the deep stage (``tau_t := 0``):
low-information regions whose refinement would be a fraction of one layer.

**Budget** (in the loss, see :class:`ATRBackbone`):
``budget_weight * (mean_valid(tau) - budget_target)^2`` on ``tau`` before
pruning. ``budget_target`` and ``temperature`` are buffers (saved in
checkpoints: the temperature decides ``tau`` at inference) that
:class:`~mmtal_zoom.engine.hooks.ATRBudgetAnnealHook` anneals.
"""
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from .masked_conv import MaskedConv1d
from .norm import LayerNorm1d

NUM_CUES = 8


@MODELS.register_module()
class ATRDepthRouter(BaseModule):
    """Coarse predictions + uncertainty -> continuous depth ``tau``.

    Args:
        embed_dims (int): ``D`` of the shallow features.
        num_layers (int): ``K``, deep layers the depth is spread over
            (set by :class:`ATRBackbone`).
        hidden_dims (int): MLP width.
        kernel_size (int): kernel of the coarse / uncertainty convs.
        budget_target (float): target mean ``tau`` (fraction of the deep
            stage's compute).
        budget_weight (float): weight of the budget term.
        init_tau (float, optional): ``tau`` of the untrained router;
            default ``budget_target``.
        temperature (float): ``tau = sigmoid(z / temperature + beta)``.
        prune_depth (float): tokens with ``tau K`` below this many layers
            leave the deep stage.
        noise_std (float): std of Gaussian noise added to the routing logit
            in training (exploration, as in noisy gating): tokens try other
            depths, so the router sees which ones gain from depth; none at
            inference.

    Shapes:
        ``x (B, D, T), mask (B, T)`` -> ``tau (B, T)`` (after pruning, 0 at
        padded steps) and ``tau_raw (B, T)`` (before pruning).
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int = 4,
                 hidden_dims: int = 32,
                 kernel_size: int = 3,
                 budget_target: float = 0.3,
                 budget_weight: float = 10.0,
                 init_tau: float = None,
                 temperature: float = 1.0,
                 prune_depth: float = 0.25,
                 noise_std: float = 0.0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not 0.0 <= budget_target <= 1.0:
            raise ValueError(
                f'budget_target must be in [0, 1], got {budget_target}.')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}.')
        self.num_layers = int(num_layers)
        self.budget_weight = float(budget_weight)
        self.prune_depth = float(prune_depth)
        self.noise_std = float(noise_std)
        # Buffers, not plain attributes: ATRBudgetAnnealHook changes them
        # during training and a checkpoint must carry the final values (the
        # temperature decides tau at inference).
        self.register_buffer('_budget_target',
                             torch.tensor(float(budget_target)))
        self.register_buffer('_temperature', torch.tensor(float(temperature)))
        self.norm = LayerNorm1d(embed_dims)
        self.coarse = MaskedConv1d(embed_dims, 3, kernel_size)
        self.uncertainty = MaskedConv1d(embed_dims, 1, kernel_size)
        self.mlp = nn.Sequential(
            nn.Conv1d(NUM_CUES, hidden_dims, 1), nn.GELU(),
            nn.Conv1d(hidden_dims, 1, 1, bias=False))
        init_tau = budget_target if init_tau is None else float(init_tau)
        init_tau = min(max(init_tau, 1e-4), 1 - 1e-4)
        self.beta = nn.Parameter(
            torch.tensor(math.log(init_tau / (1 - init_tau))))
        with torch.no_grad():
            self.mlp[-1].weight.zero_()

    @property
    def budget_target(self) -> float:
        return float(self._budget_target)

    @budget_target.setter
    def budget_target(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'budget_target must be in [0, 1], got {value}.')
        self._budget_target.fill_(float(value))

    @property
    def temperature(self) -> float:
        return float(self._temperature)

    @temperature.setter
    def temperature(self, value: float) -> None:
        if value <= 0:
            raise ValueError(f'temperature must be > 0, got {value}.')
        self._temperature.fill_(float(value))

    def cues(self, x: Tensor, mask: Tensor) -> Tensor:
        """The router's 8 input cues ``(B, 8, T)`` (see the module doc)."""
        m = mask[:, None].to(x.dtype)
        xn = self.norm(x) * m
        probs = torch.sigmoid(self.coarse(xn, mask)[0])  # (B, 3, T)
        p = probs.clamp(1e-6, 1 - 1e-6)
        entropy = -(p * p.log() + (1 - p) * (1 - p).log()) / math.log(2.0)
        unc = F.softplus(self.uncertainty(xn, mask)[0])
        nxt = F.pad(xn, (0, 1))[..., 1:]
        prv = F.pad(xn, (1, 0))[..., :-1]
        contrast = (nxt - prv).norm(dim=1, keepdim=True) / (
            2.0 * math.sqrt(x.shape[1]))
        return torch.cat([probs, entropy, unc, contrast], dim=1) * m

    def forward(self, x: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        z = self.mlp(self.cues(x, mask))[:, 0] / self._temperature + self.beta
        if self.training and self.noise_std > 0:
            z = z + self.noise_std * torch.randn_like(z)
        tau_raw = torch.sigmoid(z) * mask.to(x.dtype)
        keep = (tau_raw * self.num_layers) >= self.prune_depth
        tau = tau_raw * keep.to(tau_raw.dtype)
        return tau, tau_raw

    def budget_loss(self, tau_raw: Tensor, mask: Tensor) -> Tensor:
        """``budget_weight * (mean_valid(tau) - budget_target)^2``."""
        m = mask.to(tau_raw.dtype)
        mean = (tau_raw * m).sum() / m.sum().clamp(min=1.0)
        return self.budget_weight * (mean - self._budget_target).square()

    def extra_repr(self) -> str:
        return (f'K={self.num_layers}, budget_target={self.budget_target}, '
                f'budget_weight={self.budget_weight}, '
                f'temperature={self.temperature}, '
                f'prune_depth={self.prune_depth}')

    def state(self) -> Dict[str, float]:
        """Annealed quantities (for logs and hooks)."""
        return dict(budget_target=self.budget_target,
                    temperature=self.temperature)
