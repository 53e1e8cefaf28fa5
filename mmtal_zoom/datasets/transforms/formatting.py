"""PackTALInputs: the pipeline's output, ``dict(inputs, data_samples)``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample

DEFAULT_META_KEYS = ('video_name', 'duration', 'fps', 'feat_stride',
                     'num_frames', 'feat_len', 'feat_offset')


@TRANSFORMS.register_module()
class PackTALInputs(BaseTransform):
    """Pack one video into ``dict(inputs=Tensor (C, T), data_samples=...)``.

    The ``ActionDataSample`` holds (docs/architecture.md):

    * ``gt_instances`` (``InstanceData``): ``segments`` float32 ``(N, 2)``
      in grid units of the (possibly truncated) input, ``labels`` int64
      ``(N,)`` (from ``grid_segments`` / ``grid_labels``).
    * metainfo: ``meta_keys`` (default ``video_name``, ``duration``, ``fps``,
      ``feat_stride``, ``num_frames``, ``feat_len``, ``feat_offset``) and,
      always, ``eval_gt_segments`` (numpy ``(N, 2)`` seconds) and
      ``eval_gt_labels`` (numpy ``(N,)``): the whole video's ground truth for
      the metric, carried in the sample so it is gathered under DDP.

    Args:
        meta_keys (Sequence[str]): keys copied into metainfo (missing keys
            are an error, naming the key and the video).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'inputs' not in results:
            raise KeyError('PackTALInputs needs "inputs" (C, T); put '
                           'LoadTALFeatures before it in the pipeline.')
        inputs = torch.from_numpy(
            np.ascontiguousarray(results['inputs'], dtype=np.float32)) \
            if isinstance(results['inputs'], np.ndarray) else \
            results['inputs'].float().contiguous()

        gt = InstanceData()
        segs = np.asarray(results.get('grid_segments', np.zeros((0, 2))),
                          dtype=np.float32).reshape(-1, 2)
        labels = np.asarray(results.get('grid_labels', np.zeros(0)),
                            dtype=np.int64).reshape(-1)
        gt.segments = torch.from_numpy(segs)
        gt.labels = torch.from_numpy(labels)

        sample = ActionDataSample()
        sample.gt_instances = gt
        meta = {}
        for k in self.meta_keys:
            if k not in results:
                raise KeyError(f'PackTALInputs: key "{k}" missing for video '
                               f'"{results.get("video_name", "?")}".')
            meta[k] = results[k]
        meta['eval_gt_segments'] = np.asarray(results.get(
            'gt_segments', np.zeros((0, 2))),
                                              dtype=np.float32).reshape(-1, 2)
        meta['eval_gt_labels'] = np.asarray(results.get(
            'gt_labels', np.zeros(0)),
                                            dtype=np.int64).reshape(-1)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
