"""Combining dicts whose keys must not clash."""
from typing import List, Mapping


def update_disjoint(target: dict, new: Mapping) -> List:
    """Add the items of ``new`` to ``target`` when no key is in both.

    Returns:
        list: the keys in both, sorted; when there are any, ``target`` is
        left unchanged and the caller raises its own error naming them.
    """
    clash = sorted(set(new) & set(target))
    if not clash:
        target.update(new)
    return clash
