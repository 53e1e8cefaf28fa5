"""The Adaptive Temporal Refinement (ATR) backbone of Temporal Zoom Networks.

Temporal Zoom Networks (Shihab et al.), Fig. 1 — four stages, as composed here:

1. **shallow transformer**: ``ConvProjection`` (ActionFormer's embedding)
   then ``num_shallow`` full-resolution local-attention blocks;
2. **depth allocation**: :class:`ATRDepthRouter` maps coarse predictions and
   uncertainty of the shallow features to ``tau_t in [0, 1]`` (token pruning
   included);
3. **deep transformer**: ``num_deep`` = ``K`` blocks; layer ``k`` updates token
   ``t`` with weight ``clamp(tau_t K - k, 0, 1)``
   (:mod:`~mmtal_zoom.models.layers.continuous_depth`); tokens whose depth is
   used up leave the computation (sparse execution, real savings). The
   gradient reaches ``tau`` through a straight-through relaxation of these
   weights (``relaxation``); in training the sparse path also runs each
   token's first skipped layer for it (at most one extra layer per token);
4. **residual refinement**: the deep stage only adds weighted residuals to
   the shallow stream, so the output merges the coarse (shallow) and refined
   (deep) representations token by token; the pyramid neck and the heads
   read the merged stream.

``router=None`` is the **uniform-depth baseline**: the same network with every
token at full depth (all ``K`` deep layers on all tokens).

Budget term: with a router, training adds ``ATRDepthRouter.budget_loss`` to
the objective. The backbone sees no ground truth and returns no loss dict
(the detector is pure composition), so the term is attached to the
backbone's output with :func:`attach_aux_loss` (identity forward, gradient 1
to the term in backward — Megatron-LM's auxiliary-loss pattern) and its value
is kept in ``last_stats`` for :class:`~mmtal_zoom.engine.hooks.
ATRBudgetAnnealHook` to log as ``loss_budget``.

Auxiliary-loss contract (coarse supervision, own design): a training forward
keeps the router's coarse logits and mask; :meth:`loss_aux` (called by
:class:`~mmtal_zoom.models.detectors.TALDetector` after the head's losses,
with the same data samples) turns them into ``loss_router_*`` terms and
forgets them. ``{}`` when the router's ``aux_loss_weight`` is 0, without a
router, or without a training forward since the last call.

Shapes: ``x (B, C, T), mask (B, T)`` -> ``((B, D, T),), ((B, T),)``: one
level, for a pyramid neck (``TransformerPyramidNeck(num_stem=0)``).
"""
from typing import Dict, Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..layers import LayerNorm1d, TransformerBlock1d
from ..layers.continuous_depth import (RELAXATIONS, attach_aux_loss,
                                       continuous_depth_forward, depth_weights)
from .conv_projection import ConvProjection

PATHS = ('dense', 'sparse')


@MODELS.register_module()
class ATRBackbone(BaseModule):
    """Projection + shallow transformer + routed continuous-depth deep stage.

    Args:
        in_channels (int): input feature dimension ``C``.
        embed_dims (int): ``D``.
        num_proj_convs (int): convs of the projection.
        input_dropout (float): dropout on the input features.
        num_shallow (int): full-resolution blocks before the router.
        num_deep (int): ``K`` deep blocks.
        num_heads (int): attention heads.
        window_size (int): local attention window (``<= 0``: global).
        mlp_ratio (float): FFN width over ``D``.
        attn_drop, proj_drop, drop_path (float): regularisation.
        router (dict, optional): :class:`ATRDepthRouter` config (its
            ``embed_dims`` / ``num_layers`` are filled in); ``None``: uniform
            depth.
        min_update (float): layer updates with weight below this are
            skipped (both paths), so that a token with
            ``tau K = 1 + 1e-7`` does not pay for a second layer.
        relaxation (str): gradient of the depth weights with respect to
            ``tau``: ``'straight_through'`` (hard forward, smooth-clamp
            backward on the executed and frontier layers: gradient for every
            ``tau``) or ``'clamp'`` (the hard weights' own gradient, with
            dead bands; the earlier behaviour).
        relaxation_smoothing (float): width ``delta`` of the smooth clamp,
            in layers.
        train_path, test_path (str): ``'sparse'`` (gather the active tokens)
            or ``'dense'`` (every block on every token, then the weighted
            update); the two are numerically equal.
        out_norm (bool): LayerNorm on the output.
        layer_scale_init (float, optional): initial residual scale of every
            transformer block (ActionFormer: 1e-4); ``None`` for none.
    """

    def __init__(self, in_channels: int, embed_dims: int,
                 num_proj_convs: int = 2, input_dropout: float = 0.0,
                 num_shallow: int = 1, num_deep: int = 4, num_heads: int = 4,
                 window_size: int = 19, mlp_ratio: float = 4.0,
                 attn_drop: float = 0.0, proj_drop: float = 0.0,
                 drop_path: float = 0.1,
                 router: Optional[dict] = dict(type='ATRDepthRouter'),
                 min_update: float = 0.01,
                 relaxation: str = 'straight_through',
                 relaxation_smoothing: float = 0.25,
                 train_path: str = 'sparse', test_path: str = 'sparse',
                 out_norm: bool = False,
                 layer_scale_init: Optional[float] = 1e-4,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if train_path not in PATHS or test_path not in PATHS:
            raise ValueError(f'train_path / test_path must be in {PATHS}, '
                             f'got {train_path!r}, {test_path!r}.')
        if num_deep < 1:
            raise ValueError(f'num_deep must be >= 1, got {num_deep}.')
        self.in_channels = in_channels
        self.projection = ConvProjection(in_channels, embed_dims,
                                         num_proj_convs,
                                         input_dropout=input_dropout)

        def block():
            return TransformerBlock1d(embed_dims, num_heads, window_size, 1,
                                      mlp_ratio, attn_drop, proj_drop,
                                      drop_path, layer_scale_init)

        self.shallow = nn.ModuleList(block() for _ in range(num_shallow))
        self.deep = nn.ModuleList(block() for _ in range(num_deep))
        if router is not None:
            router = dict(router)
            router.setdefault('type', 'ATRDepthRouter')
            router['embed_dims'] = embed_dims
            router['num_layers'] = num_deep
            self.router = MODELS.build(router)
        else:
            self.router = None
        self.min_update = float(min_update)
        if relaxation not in RELAXATIONS:
            raise ValueError(f'relaxation must be in {RELAXATIONS}, got '
                             f'{relaxation!r}.')
        self.relaxation = relaxation
        self.relaxation_smoothing = float(relaxation_smoothing)
        self._aux: Optional[Tuple[Tensor, Tensor]] = None
        self.train_path, self.test_path = train_path, test_path
        self.out_norm = LayerNorm1d(embed_dims) if out_norm else nn.Identity()
        self.last_stats: Dict[str, Tensor] = {}
        self.last_tau: Optional[Tensor] = None

    @property
    def with_router(self) -> bool:
        return self.router is not None

    def forward(self, x: Tensor,
                mask: Tensor) -> Tuple[Tuple[Tensor], Tuple[Tensor]]:
        (x, ), (mask, ) = self.projection(x, mask)
        for blk in self.shallow:
            x, mask = blk(x, mask)
        num_valid = mask.sum().clamp(min=1)
        if self.router is None:
            for blk in self.deep:
                x, mask = blk(x, mask)
            self.last_tau = None
            self.last_stats = dict(
                mean_tau=x.new_tensor(1.0),
                active_fraction=x.new_tensor(1.0))
        else:
            tau, tau_raw, coarse = self.router(x, mask, return_coarse=True)
            weights = depth_weights(tau, len(self.deep), self.min_update,
                                    self.relaxation,
                                    self.relaxation_smoothing)
            path = self.train_path if self.training else self.test_path
            frontier = (self.training and self.relaxation ==
                        'straight_through' and tau.requires_grad)
            x, counts = continuous_depth_forward(self.deep, x, mask, weights,
                                                 path, frontier=frontier)
            self._aux = (coarse, mask) if (
                self.training and self.router.aux_loss_weight > 0) else None
            m = mask.to(tau.dtype)
            mean_tau = (tau * m).sum() / num_valid
            stats = dict(
                mean_tau=mean_tau.detach(),
                tau_std=(((tau - mean_tau).square() * m).sum() /
                         num_valid).sqrt().detach(),
                mean_tau_raw=((tau_raw * m).sum() / num_valid).detach(),
                active_fraction=(counts.sum().float() /
                                 (num_valid * len(self.deep))).detach(),
                pruned_fraction=(((tau_raw > 0) & (tau == 0) & mask).sum()
                                 / num_valid).detach())
            if self.training and self.router.with_budget:
                terms = self.router.budget_terms(tau_raw, mask)
                loss_budget = sum(terms.values())
                x = attach_aux_loss(x, loss_budget)
                stats['loss_budget'] = loss_budget.detach()
                if 'variance' in terms:
                    stats['loss_tau_variance'] = terms['variance'].detach()
            self.last_tau = tau.detach()
            self.last_stats = stats
        x = self.out_norm(x) * mask[:, None].to(x.dtype)
        return (x, ), (mask, )

    def loss_aux(self, data_samples) -> Dict[str, Tensor]:
        """Auxiliary losses of the last training forward (module doc).

        Args:
            data_samples (Sequence): the batch's samples, ground truth in
                grid units of the input (the backbone keeps the input grid).

        Returns:
            dict: ``loss_router_action`` and ``loss_router_boundary``, or
            ``{}``.
        """
        if self._aux is None:
            return {}
        coarse, mask = self._aux
        self._aux = None  # once per forward; frees the graph reference
        return self.router.loss_coarse(coarse, mask, data_samples)
