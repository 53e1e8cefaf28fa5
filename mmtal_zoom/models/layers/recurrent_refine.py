"""RCL's recurrent refine module (RRM; RCL paper, Sec. 3.4, Fig. 3 and 6)."""
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


@MODELS.register_module()
class RecurrentRefineModule(BaseModule):
    """The update operator of RCL, iterated ``num_iters`` times (RAFT-style).

    At iteration ``m`` the operator looks the current segments ``x^m`` up in
    the continuous anchoring representation -- ``lookup(x^m)`` returns the
    CAR's embedding of ``x^m`` (features sampled at ``x^m`` + coordinate
    encoding) and its confidence logits and offsets there, i.e. the
    confidence map ``G`` read at the moved segments (Fig. 6). From that
    look-up and the previous estimate it updates a GRU hidden state and
    outputs residual corrections: ``logits^m = logits_CAR(x^m) + dl`` and
    ``dx^m = dx_CAR(x^m) + dd``; the segments then move by Eq. 4,
    ``x^{m+1} = x^m + dx^m * (x_e^m - x_s^m)``. The correction heads start at
    zero, so an untrained RRM iterates the CAR (which already helps) and the
    GRU learns what the CAR alone misses. Coordinates are detached between
    iterations (truncated back-propagation, as RAFT does with its flow); every
    iteration is supervised (Eq. 8, by the head that owns this module).

    Args:
        embed_channels (int): channels of the CAR embedding (``lookup``
            output and the initial context).
        hidden_channels (int): GRU state size.
        num_iters (int): ``M`` (10 in the paper).

    Shapes: ``R`` refined queries per video; ``context`` ``(B, R, E)``,
    ``queries`` ``(B, R, 2)``, ``logits`` ``(B, R, 2)``, ``offsets``
    ``(B, R, 2)``.
    """

    def __init__(self, embed_channels: int = 256, hidden_channels: int = 128,
                 num_iters: int = 10, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_iters < 1:
            raise ValueError(f'num_iters must be >= 1, got {num_iters}')
        self.num_iters = num_iters
        self.init_hidden = nn.Linear(embed_channels, hidden_channels)
        self.input_proj = nn.Linear(embed_channels + 8, hidden_channels)
        self.gru = nn.GRUCell(hidden_channels, hidden_channels)
        self.conf_head = nn.Linear(hidden_channels, 2)
        self.offset_head = nn.Linear(hidden_channels, 2)
        # zero corrections at start: an untrained RRM iterates the CAR
        for head in (self.conf_head, self.offset_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, context: Tensor, queries: Tensor, logits: Tensor,
                offsets: Tensor,
                lookup: Callable[[Tensor], Tuple[Tensor, Tensor, Tensor]],
                decode: Callable[[Tensor, Tensor], Tensor]
                ) -> List[Dict[str, Tensor]]:
        """Run the ``M`` iterations.

        Args:
            context (Tensor): ``(B, R, E)`` CAR embedding of the initial
                queries (initialises the hidden state).
            queries (Tensor): ``(B, R, 2)`` initial segments ``x^0``.
            logits (Tensor): ``(B, R, 2)`` CAR confidence logits of ``x^0``.
            offsets (Tensor): ``(B, R, 2)`` CAR offsets of ``x^0``.
            lookup (callable): ``(B, R, 2)`` segments -> CAR embedding
                ``(B, R, E)``, logits ``(B, R, 2)`` and offsets
                ``(B, R, 2)`` there.
            decode (callable): ``(queries, offsets) -> segments`` (Eq. 4,
                with clipping and the SPF floor).

        Returns:
            list[dict]: one per iteration ``m = 1..M`` with ``queries``
            ``x^m`` (detached), ``logits`` and ``offsets`` predicted for it.
        """
        b, r, _ = queries.shape
        hidden = torch.tanh(self.init_hidden(context)).reshape(b * r, -1)
        x = queries
        outs = []
        for _ in range(self.num_iters):
            x = decode(x, offsets).detach()
            embed, car_logits, car_offsets = lookup(x)
            inp = torch.cat([
                embed,
                torch.sigmoid(car_logits), car_offsets,
                torch.sigmoid(logits), offsets
            ], dim=-1)
            inp = torch.relu(self.input_proj(inp)).reshape(b * r, -1)
            hidden = self.gru(inp, hidden)
            h = hidden.view(b, r, -1)
            logits = car_logits + self.conf_head(h)
            offsets = car_offsets + self.offset_head(h)
            outs.append(dict(queries=x, logits=logits, offsets=offsets))
        return outs
