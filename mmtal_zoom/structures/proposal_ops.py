"""Post-processing of class-agnostic proposals (BMN-style localizers)."""
from typing import Optional

import torch
from torch import Tensor

from .segment_ops import multiclass_segment_nms


def blend_scores(conf: Tensor, prior: Optional[Tensor],
                 weight: float) -> Tensor:
    """``conf^(1 - w) * prior^w`` of two scorers' confidences of the same
    proposals (any shape); ``conf`` alone without a prior."""
    if prior is None:
        return conf
    return conf.clamp(min=0).pow(1 - weight) * prior.clamp(min=0).pow(weight)


def proposal_nms(segments: Tensor, scores: Tensor, nms_cfg: dict,
                 pre_nms_topk: Optional[int]):
    """Top-k then (Soft-)NMS of one video's proposals.

    Proposals with a negative score (non-candidates) are dropped first.
    ``nms_cfg['method']``: ``'hard' | 'linear' | 'gaussian'``
    (:func:`multiclass_segment_nms`, class-agnostic) or ``'bmn'``:
    MMAction2's BMN Soft-NMS itself (numpy; ``alpha``, ``low``, ``high``),
    reused as is.

    Args:
        segments (Tensor): ``(R, 2)``.
        scores (Tensor): ``(R,)``.
        nms_cfg (dict): see above; ``max_num`` caps the output.
        pre_nms_topk (int, optional): proposals entering NMS (the best by
            score); ``None``: every candidate, as BMN's own post-processing.

    Returns:
        tuple: ``segments (K, 2)``, ``scores (K,)`` on the input device.
    """
    valid = scores >= 0
    segments, scores = segments[valid], scores[valid]
    k = scores.numel() if pre_nms_topk is None else min(int(pre_nms_topk),
                                                        scores.numel())
    scores, order = scores.topk(k)
    segments = segments[order]
    if nms_cfg.get('method') == 'bmn':
        from mmaction.models.localizers.utils import soft_nms
        props = torch.cat([segments, scores[:, None]], 1)
        out = soft_nms(props.detach().cpu().double().numpy(),
                       nms_cfg.get('alpha', 0.4), nms_cfg.get('low', 0.5),
                       nms_cfg.get('high', 0.9), int(nms_cfg['max_num']))
        out = torch.as_tensor(out[:int(nms_cfg['max_num'])],
                              dtype=segments.dtype,
                              device=segments.device).reshape(-1, 3)
        return out[:, :2], out[:, 2]
    labels = torch.zeros_like(order)
    segments, scores, _ = multiclass_segment_nms(segments, scores, labels,
                                                 nms_cfg)
    return segments, scores
