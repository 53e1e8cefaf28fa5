"""RandomTruncateTAL: random temporal crop of long training sequences."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmaction.registry import TRANSFORMS


def crop_instances(segments: np.ndarray, window: Tuple[float, float],
                   trunc_thresh: float) -> Tuple[np.ndarray, np.ndarray]:
    """Which instances a crop keeps, and their boundaries inside it.

    An instance is kept when the window covers at least ``trunc_thresh`` of
    its length (ActionFormer's rule); a zero-length instance is kept when it
    lies inside the window. Kept boundaries are clipped to the window.

    Args:
        segments (np.ndarray): ``(N, 2)`` grid units.
        window (tuple): ``(start, end)`` grid units.
        trunc_thresh (float): minimum covered fraction.

    Returns:
        tuple: ``keep`` bool ``(N,)`` and clipped segments ``(N, 2)``
        (grid units, not yet shifted to the window).
    """
    st, ed = window
    left = np.maximum(segments[:, 0], st)
    right = np.minimum(segments[:, 1], ed)
    inter = np.clip(right - left, 0.0, None)
    length = segments[:, 1] - segments[:, 0]
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(length > 0, inter / np.maximum(length, 1e-12),
                         (left <= right).astype(np.float64))
    keep = ratio >= trunc_thresh
    return keep, np.stack([left, right], axis=1)


@TRANSFORMS.register_module()
class RandomTruncateTAL(BaseTransform):
    """Randomly crop a window of at most ``max_seq_len`` snippets (training).

    ActionFormer's ``truncate_feats`` re-implemented on numpy arrays: a
    window start is drawn uniformly; instances covered by at least
    ``trunc_thresh`` of their length are kept and clipped to the window,
    the others dropped. With ``has_action=True`` up to ``max_num_trials``
    windows are drawn until one keeps an instance (the last draw is used if
    none does). Sequences not longer than ``max_seq_len`` are returned
    unchanged unless ``crop_ratio`` is set, in which case a window of a random
    fraction ``crop_ratio = (lo, hi)`` of the sequence is cropped.

    Required keys: ``inputs`` ``(C, T)``, ``feat_len``, ``grid_segments``
    ``(N, 2)``, ``grid_labels`` ``(N,)``. Modified keys: those, and
    ``feat_offset`` (+= window start, so that grid positions of the crop map
    back to the video: ``video_grid = crop_grid + feat_offset``).
    ``gt_segments`` / ``gt_labels`` (seconds, whole video; the evaluation
    ground truth) are not touched.

    Args:
        max_seq_len (int): maximum window length in snippets.
        trunc_thresh (float): minimum covered fraction to keep an instance.
            Default 0.5.
        crop_ratio (tuple[float, float], optional): see above.
        has_action (bool): retry until the window keeps an instance.
        max_num_trials (int): number of draws with ``has_action``. Default 200.
    """

    def __init__(self,
                 max_seq_len: int,
                 trunc_thresh: float = 0.5,
                 crop_ratio: Optional[Sequence[float]] = None,
                 has_action: bool = True,
                 max_num_trials: int = 200):
        if max_seq_len < 1:
            raise ValueError(f'max_seq_len must be >= 1, got {max_seq_len}')
        if crop_ratio is not None:
            lo, hi = crop_ratio
            if not 0 < lo <= hi <= 1:
                raise ValueError('crop_ratio must be (lo, hi) with 0 < lo <= '
                                 f'hi <= 1, got {crop_ratio}')
        self.max_seq_len = int(max_seq_len)
        self.trunc_thresh = float(trunc_thresh)
        self.crop_ratio = None if crop_ratio is None else tuple(crop_ratio)
        self.has_action = has_action
        self.max_num_trials = max_num_trials

    @cache_randomness
    def _window_len(self, feat_len: int) -> int:
        if self.crop_ratio is None:
            return min(feat_len, self.max_seq_len)
        lo = max(int(round(self.crop_ratio[0] * feat_len)), 1)
        hi = min(int(round(self.crop_ratio[1] * feat_len)), feat_len)
        return min(int(np.random.randint(lo,
                                         max(hi, lo) + 1)), self.max_seq_len)

    @cache_randomness
    def _window_start(self, feat_len: int, win_len: int) -> int:
        return int(np.random.randint(0, feat_len - win_len + 1))

    def transform(self, results: dict) -> dict:
        feat_len = int(results['feat_len'])
        if feat_len <= self.max_seq_len and self.crop_ratio is None:
            return results
        win_len = self._window_len(feat_len)
        if win_len >= feat_len:
            return results
        segs = np.asarray(results['grid_segments'],
                          dtype=np.float32).reshape(-1, 2)
        labels = np.asarray(results['grid_labels']).reshape(-1)
        for _ in range(self.max_num_trials):
            st = self._window_start(feat_len, win_len)
            keep, clipped = crop_instances(segs, (st, st + win_len),
                                           self.trunc_thresh)
            if not self.has_action or keep.any() or len(segs) == 0:
                break
        results['inputs'] = results['inputs'][:, st:st + win_len]
        results['feat_len'] = win_len
        results['feat_offset'] = int(results.get('feat_offset', 0)) + st
        results['grid_segments'] = (clipped[keep] - st).astype(np.float32)
        results['grid_labels'] = labels[keep]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_seq_len={self.max_seq_len}, '
                f'trunc_thresh={self.trunc_thresh}, '
                f'crop_ratio={self.crop_ratio}, has_action={self.has_action})')
