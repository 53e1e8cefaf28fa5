"""The coordinate encoding of RCL's continuous anchoring representation.

Wang et al., "RCL: Recurrent Continuous Localization for Temporal Action
Detection", CVPR 2022, Eq. 4: a segment query is embedded from the features
sampled at its coordinates *and* from the coordinates themselves.
"""
import math

import torch
from torch import Tensor


def encode_coordinates(queries: Tensor, num_steps: int,
                       num_freqs: int) -> Tensor:
    """Encoding of the segment coordinates fed to the CAR (Eq. 4's ``x``).

    ``[x_s, x_e, l, c, log(l T) / log(T)]`` plus ``sin / cos(2^k pi x)``
    of both boundaries for ``k < num_freqs`` (NeRF's positional encoding,
    which the paper's continuous representation builds on).

    Args:
        queries (Tensor): ``(..., 2)`` normalised segments.
        num_steps (int): ``T`` (scales the log-length).
        num_freqs (int): frequencies.

    Returns:
        Tensor: ``(..., 5 + 4 * num_freqs)``.
    """
    s, e = queries[..., 0], queries[..., 1]
    length = (e - s).clamp(min=1e-6)
    log_len = torch.log(length * num_steps) / math.log(max(num_steps, 2))
    feats = [s, e, length, (s + e) / 2, log_len]
    if num_freqs > 0:
        freqs = math.pi * 2.0**torch.arange(
            num_freqs, device=queries.device, dtype=queries.dtype)
        ang = queries[..., None] * freqs  # (..., 2, F)
        enc = torch.cat([ang.sin(), ang.cos()], dim=-1).flatten(-2)
        return torch.cat([torch.stack(feats, dim=-1), enc], dim=-1)
    return torch.stack(feats, dim=-1)
