"""Non-negative regression outputs (distances to the start and end).

ActionFormer (and the heads built on it) make the predicted distances
non-negative with a ReLU. Its gradient is zero wherever the input is
negative, so a regression channel whose pre-activation is pushed below zero
at every position (a shared output bias that overshoots, say) receives no
gradient again and predicts 0 for ever. That happened on the benchmark
family: in a collapsed training run (test avg mAP 11.5 where the other seeds
reach 30-37) the *end* distance was <= 0 at 95-100 % of the positions of
every pyramid level, so every detection ended at its anchor point.

``revived_relu`` (own design) is a ReLU in the forward pass — predictions
identical to ActionFormer's — whose backward pass, where the input is
negative, lets through the part of the gradient that would raise the output
(``min(grad, 0)``: the loss asks for a larger distance) and drops the part
that would lower it further (the output cannot go below 0 anyway). A dead
channel is pulled back as soon as positives ask for a positive distance; a
healthy one trains exactly as with ReLU wherever its input is positive.
Written by hand because torch has no activation with this backward.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


class _RevivedReLU(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> Tensor:
        (x, ) = ctx.saved_tensors
        # x > 0: the ReLU's gradient; x <= 0: only the raising part
        return torch.where(x > 0, grad_out, grad_out.clamp(max=0))


def revived_relu(x: Tensor) -> Tensor:
    """``max(x, 0)``; where ``x <= 0`` the gradient ``g`` becomes
    ``min(g, 0)`` instead of 0 (module doc). Any shape."""
    return _RevivedReLU.apply(x)


_ACTIVATIONS = {'revived_relu': revived_relu, 'relu': F.relu}
REG_ACTIVATIONS = tuple(_ACTIVATIONS)


def reg_activation_fn(activation: str):
    """The function behind ``activation`` (``'revived_relu'`` or
    ``'relu'``); a one-line ``ValueError`` for any other name."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f'reg_activation must be one of {REG_ACTIVATIONS}, '
                         f'got {activation!r}.')
    return _ACTIVATIONS[activation]


def non_negative(x: Tensor, activation: str = 'revived_relu') -> Tensor:
    """Regression outputs made non-negative by ``activation``:
    ``'revived_relu'`` (default) or ``'relu'`` (ActionFormer's, whose
    gradient is zero below 0). Any shape."""
    return reg_activation_fn(activation)(x)
