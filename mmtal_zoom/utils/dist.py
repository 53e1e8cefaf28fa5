"""Distributed helpers (mmengine's ``mmengine.dist`` has ``all_reduce`` but
no tensor-mean helper that is the identity outside DDP; mmdetection keeps
its ``reduce_mean`` in ``mmdet.utils.dist_utils`` for the same use)."""
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor


def reduce_mean(value: Tensor) -> Tensor:
    """Mean of a tensor over all processes (identity when not distributed).

    Used to normalise losses by the number of positives across GPUs.
    """
    if get_world_size() == 1:
        return value
    value = value.clone()
    all_reduce(value, op='mean')
    return value
