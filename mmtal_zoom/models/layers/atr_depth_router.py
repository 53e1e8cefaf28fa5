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
  (seed's Theorem 1 setting: boundary evidence spreads over a kernel of
  width kappa), zero in flat background or mid-action;
* **MLP** (1x1 convs, no output bias) from these 8 cues to a token-dependent
  logit ``z_t``; ``tau_t = sigmoid(z_t / temperature + beta)`` with a
  learned scalar operating point ``beta``. The temperature only sharpens the
  token-to-token differences: cooling it does not move the mean depth, so
  the bias need not drift to compensate (and an EMA of the weights, which
  lags behind such a drift while the temperature buffer does not, stays
  consistent with it).

**Coarse supervision** (own design): without it the coarse
outputs were learned only through the depth weights and the budget, so
"uncertainty" carried no information about boundaries. With
``aux_loss_weight > 0`` :meth:`loss_coarse` supervises the three coarse
logits with the targets the heads use: actionness = inside some ground-truth
segment; start-ness / end-ness = within ``boundary_radius`` grid units of a
start / end, from the signed distances of :class:`SignedDistanceTarget` (the
BDR head's target generator, so start / end positions that are only crop or
video edges are ignored, as there). Loss: BMN's class-balanced binary
logistic loss (:class:`BalancedBCELoss`), ``loss_router_action`` and
``loss_router_boundary`` (start and end averaged), each times
``aux_loss_weight``. The backbone keeps the logits of its last training
forward and the detector asks it for these losses
(:meth:`ATRBackbone.loss_aux`), since only the detector has the ground truth.
The last MLP layer starts at zero and ``beta`` at ``logit(init_tau)``, so an
untrained router spends exactly the initial budget on every token.

**Token pruning**: tokens whose depth ``tau_t K`` falls below
``prune_depth`` layers are removed from the deep stage (``tau_t := 0``):
low-information regions whose refinement would be a fraction of one layer.

**Budget** (in the loss, see :class:`ATRBackbone`):
``budget_weight * (mean_valid(tau) - budget_target)^2`` on ``tau`` before
pruning — over the whole batch, or (``per_video_budget=True``) the mean over
videos of each video's squared deviation. ``budget_target`` and
``temperature`` are buffers (saved in checkpoints: the temperature decides
``tau`` at inference) that :class:`~mmtal_zoom.engine.hooks.
ATRBudgetAnnealHook` anneals.

**Variance incentive** (own design; off by default): the budget is
minimised by a constant ``tau``. With ``variance_weight > 0`` the term
``variance_weight * mean_b relu(variance_target - Var_b(tau))`` (``Var_b``:
variance of ``tau_raw`` over the valid tokens of video ``b``) penalises
videos whose depth varies less than ``variance_target`` (0.0025: a standard
deviation of 0.05). It forces spread, not *where* the spread goes: with it on,
the std of ``tau`` is partly by construction and the boundary AUROC of
``tools/analysis/zoom_experiments.py adaptivity`` is the measure of
adaptivity.

**Uncertainty prior** (own design; ``prior_scale``, 0 = off): with the
budget alone a constant ``tau`` is optimal and nothing tells the MLP, which
starts at zero, to spend depth at boundaries; measured runs kept ``tau``
constant (std <= 0.002) even with the gradient reaching every ``tau``. The
prior makes the abstract's "concentrate computation near difficult
boundaries" the starting point instead of something to discover: the
routing logit gets
``s * (u_t - mean_valid_b(u))`` with ``u_t = max(p_start, p_end)``, the
supervised coarse boundary probability (detached: the coarse predictions
stay what their supervision makes them, and the task loss acts on ``s``
and the MLP), ``s = softplus(gamma)`` learned from ``prior_scale`` at
initialisation. Centring per video keeps the mean depth at the budget's
operating point, so the budget term does not fight the prior; the task loss
can still shrink ``s`` to 0 if extra depth at boundaries does not pay.
The std of ``tau`` is then partly by construction; the boundary AUROC
measures whether the coarse stage finds boundaries, and the accuracy of
ATR against its matched uniform controls whether spending depth there
helps.

**Stop-gradient input** (own design; ``detach_input``, default off): the
router reads the shallow features through ``detach``, so neither the coarse
supervision nor the routing gradient (task loss -> ``tau`` -> router)
reshapes the shallow blocks that the deep stage and the heads build on; the
router's own convs, MLP, ``beta`` and prior scale still learn from both.
"""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..losses import balanced_bce_loss  # noqa: F401 (registers the loss)
from ..task_modules.signed_distance_target import SignedDistanceTarget
from .masked_conv import MaskedConv1d
from .norm import LayerNorm1d

NUM_CUES = 8
COARSE = ('actionness', 'start', 'end')  # the channels of the coarse logits


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
        aux_loss_weight (float): weight of the coarse supervision
            (:meth:`loss_coarse`); 0 turns it off.
        boundary_radius (float): steps within this many grid units of a
            start / end are start / end positives of the coarse supervision.
        loss_coarse (dict): loss of the coarse logits.
        per_video_budget (bool): budget term per video instead of on the
            batch mean.
        variance_weight (float): weight of the per-video variance incentive
            (0: off).
        variance_target (float): per-video variance of ``tau`` below which
            the incentive penalises.
        prior_scale (float): initial scale ``s`` of the uncertainty prior
            (module doc); 0 turns it off.
        detach_input (bool): read the shallow features through ``detach``
            (module doc): no router loss or routing gradient reaches the
            layers before the router.

    Shapes:
        ``x (B, D, T), mask (B, T)`` -> ``tau (B, T)`` (after pruning, 0 at
        padded steps) and ``tau_raw (B, T)`` (before pruning), and with
        ``return_coarse=True`` the coarse logits ``(B, 3, T)``
        (actionness, start, end).
    """

    def __init__(self, embed_dims: int, num_layers: int = 4,
                 hidden_dims: int = 32, kernel_size: int = 3,
                 budget_target: float = 0.3, budget_weight: float = 10.0,
                 init_tau: Optional[float] = None, temperature: float = 1.0,
                 prune_depth: float = 0.25, noise_std: float = 0.0,
                 aux_loss_weight: float = 0.0, boundary_radius: float = 2.0,
                 loss_coarse: dict = dict(type='BalancedBCELoss'),
                 per_video_budget: bool = False, variance_weight: float = 0.0,
                 variance_target: float = 0.0025, prior_scale: float = 0.0,
                 detach_input: bool = False, init_cfg=None):
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
        if aux_loss_weight < 0 or variance_weight < 0 or boundary_radius < 0:
            raise ValueError('aux_loss_weight, variance_weight and '
                             'boundary_radius must be >= 0, got '
                             f'{aux_loss_weight}, {variance_weight}, '
                             f'{boundary_radius}.')
        self.aux_loss_weight = float(aux_loss_weight)
        self.boundary_radius = float(boundary_radius)
        self.loss_coarse_fn = MODELS.build(loss_coarse)
        # truncation only has to exceed the radius: the labels read |d| <= r
        self.boundary_target = SignedDistanceTarget(
            truncation=max(16.0, 2 * self.boundary_radius + 1))
        self.per_video_budget = bool(per_video_budget)
        self.variance_weight = float(variance_weight)
        self.variance_target = float(variance_target)
        self.detach_input = bool(detach_input)
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
        if prior_scale < 0:
            raise ValueError(f'prior_scale must be >= 0, got {prior_scale}.')
        # s = softplus(gamma) = prior_scale at initialisation
        self.prior_gamma = (nn.Parameter(torch.tensor(
            math.log(math.expm1(prior_scale)))) if prior_scale > 0 else None)

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

    def coarse_logits(self, xn: Tensor, mask: Tensor) -> Tensor:
        """Coarse actionness / start / end logits ``(B, 3, T)`` of the
        normalised features ``xn``."""
        return self.coarse(xn, mask)[0]

    def cues(self, x: Tensor, mask: Tensor,
             return_coarse: bool = False):
        """The router's 8 input cues ``(B, 8, T)`` (see the module doc), and
        the coarse logits ``(B, 3, T)`` if ``return_coarse``."""
        m = mask[:, None].to(x.dtype)
        xn = self.norm(x) * m
        logits = self.coarse_logits(xn, mask)
        probs = torch.sigmoid(logits)  # (B, 3, T)
        p = probs.clamp(1e-6, 1 - 1e-6)
        entropy = -(p * p.log() + (1 - p) * (1 - p).log()) / math.log(2.0)
        unc = F.softplus(self.uncertainty(xn, mask)[0])
        nxt = F.pad(xn, (0, 1))[..., 1:]
        prv = F.pad(xn, (1, 0))[..., :-1]
        contrast = (nxt - prv).norm(dim=1, keepdim=True) / (
            2.0 * math.sqrt(x.shape[1]))
        cues = torch.cat([probs, entropy, unc, contrast], dim=1) * m
        return (cues, logits) if return_coarse else cues

    def forward(self, x: Tensor, mask: Tensor, return_coarse: bool = False):
        if self.detach_input:
            x = x.detach()
        cues, logits = self.cues(x, mask, return_coarse=True)
        z = self.mlp(cues)[:, 0]
        if self.prior_gamma is not None:
            z = z + F.softplus(self.prior_gamma) * self.boundary_prior(
                logits.detach(), mask)
        z = z / self._temperature + self.beta
        if self.training and self.noise_std > 0:
            z = z + self.noise_std * torch.randn_like(z)
        tau_raw = torch.sigmoid(z) * mask.to(x.dtype)
        keep = (tau_raw * self.num_layers) >= self.prune_depth
        # pruned tokens get tau = 0 in the forward pass; the gradient passes
        # to tau_raw unchanged (straight-through), so pruning is no dead band
        tau = tau_raw + (tau_raw * keep.to(tau_raw.dtype) - tau_raw).detach()
        if return_coarse:
            return tau, tau_raw, logits
        return tau, tau_raw

    @staticmethod
    def boundary_prior(logits: Tensor, mask: Tensor) -> Tensor:
        """``u_t - mean_valid(u)`` per video, ``u = max(p_start, p_end)``
        of the coarse logits ``(B, 3, T)``; 0 at padded steps. ``(B, T)``."""
        m = mask.to(logits.dtype)
        u = torch.sigmoid(logits[:, 1:]).amax(dim=1)
        mean = (u * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(
            min=1.0)
        return (u - mean) * m

    @property
    def with_budget(self) -> bool:
        """Whether :meth:`budget_loss` is non-zero in general."""
        return self.budget_weight > 0 or self.variance_weight > 0

    def budget_terms(self, tau_raw: Tensor, mask: Tensor) -> Dict[str, Tensor]:
        """``budget`` and ``variance`` terms (each already weighted)."""
        m = mask.to(tau_raw.dtype)
        n_b = m.sum(dim=1).clamp(min=1.0)  # (B,)
        mean_b = (tau_raw * m).sum(dim=1) / n_b
        if self.per_video_budget:
            has = (m.sum(dim=1) > 0).to(tau_raw.dtype)
            dev = ((mean_b - self._budget_target).square() * has).sum() / \
                has.sum().clamp(min=1.0)
        else:
            mean = (tau_raw * m).sum() / m.sum().clamp(min=1.0)
            dev = (mean - self._budget_target).square()
        terms = dict(budget=self.budget_weight * dev)
        if self.variance_weight > 0:
            var_b = ((tau_raw - mean_b[:, None]).square() * m).sum(dim=1) / n_b
            has = (m.sum(dim=1) > 1).to(tau_raw.dtype)
            short = F.relu(self.variance_target - var_b) * has
            terms['variance'] = self.variance_weight * short.sum() / \
                has.sum().clamp(min=1.0)
        return terms

    def budget_loss(self, tau_raw: Tensor, mask: Tensor) -> Tensor:
        """The sum of :meth:`budget_terms`: by default
        ``budget_weight * (mean_valid(tau) - budget_target)^2``."""
        return sum(self.budget_terms(tau_raw, mask).values())

    def coarse_targets(self, mask: Tensor, data_samples) -> Tuple[Tensor,
                                                                  Tensor]:
        """Targets and weights ``(B, 3, T)`` of the coarse logits.

        Args:
            mask (Tensor): ``(B, T)`` bool, the grid of the input (stride
                1; ``gt_instances.segments`` are in its grid units).
            data_samples (Sequence): with ``gt_instances.segments`` ``(N, 2)``.
        """
        b, t = mask.shape
        pos = torch.arange(t, device=mask.device, dtype=torch.float32)
        targets, weights = [], []
        for i, sample in enumerate(data_samples):
            segs = sample.gt_instances.segments.to(mask.device).float()
            segs = segs.reshape(-1, 2)
            inside = ((pos[:, None] >= segs[None, :, 0]) &
                      (pos[:, None] <= segs[None, :, 1])).any(dim=1)
            dist, w_bd = self.boundary_target.get_targets(pos, mask[i], segs)
            near = dist.abs() <= self.boundary_radius  # (T, 2)
            if segs.shape[0] == 0:
                near = torch.zeros_like(near)
                w_bd = mask[i, :, None].float().expand(-1, 2)
            targets.append(torch.cat([inside[:, None], near], 1).t())
            weights.append(torch.cat([mask[i, :, None].float(), w_bd], 1).t())
        return torch.stack(targets).float(), torch.stack(weights)

    def loss_coarse(self, logits: Tensor, mask: Tensor,
                    data_samples) -> Dict[str, Tensor]:
        """Supervision of the coarse predictions (module doc).

        Args:
            logits (Tensor): ``(B, 3, T)`` from ``forward(...,
                return_coarse=True)``.
            mask (Tensor): ``(B, T)`` bool.
            data_samples (Sequence): ground truth in grid units.

        Returns:
            dict: ``loss_router_action``, ``loss_router_boundary``.
        """
        targets, weights = self.coarse_targets(mask, data_samples)
        targets = targets.to(logits.dtype)
        weights = weights.to(logits.dtype)
        lw = self.aux_loss_weight
        act = self.loss_coarse_fn(logits[:, 0], targets[:, 0], weights[:, 0])
        bnd = 0.5 * (
            self.loss_coarse_fn(logits[:, 1], targets[:, 1], weights[:, 1]) +
            self.loss_coarse_fn(logits[:, 2], targets[:, 2], weights[:, 2]))
        return dict(loss_router_action=lw * act,
                    loss_router_boundary=lw * bnd)

    def extra_repr(self) -> str:
        return (f'K={self.num_layers}, budget_target={self.budget_target}, '
                f'budget_weight={self.budget_weight}, '
                f'temperature={self.temperature}, '
                f'prune_depth={self.prune_depth}, '
                f'aux_loss_weight={self.aux_loss_weight}, '
                f'variance_weight={self.variance_weight}, '
                f'prior_scale={self.prior_scale:.3g}')

    @property
    def prior_scale(self) -> float:
        """Current ``s`` of the uncertainty prior (0 when off)."""
        if self.prior_gamma is None:
            return 0.0
        return float(F.softplus(self.prior_gamma.detach()))

    def state(self) -> Dict[str, float]:
        """Annealed quantities (for logs and hooks)."""
        return dict(budget_target=self.budget_target,
                    temperature=self.temperature,
                    prior_scale=self.prior_scale)
