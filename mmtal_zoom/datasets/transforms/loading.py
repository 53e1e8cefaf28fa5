"""LoadTALFeatures: read one video's snippet features and put its ground
truth on the feature grid."""
import os.path as osp
import pickle
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...structures.time_grid import seconds_to_grid


def expected_feat_len(duration: float, fps: float, feat_stride: float,
                      num_frames: float) -> float:
    """Snippets a video of ``duration`` s should have: one every
    ``feat_stride`` frames while a whole ``num_frames`` window fits."""
    return max((duration * fps - num_frames) / feat_stride + 1.0, 1.0)


#: dtype kinds a feature array may have: float, signed / unsigned int (not
#: bool, complex, object, strings, datetimes).
FEATURE_DTYPE_KINDS = 'fiu'


def _where(path: str, video: Optional[str]) -> str:
    return f'{path} (video "{video}")' if video else str(path)


def check_feature_shape_dtype(shape, dtype, path: str,
                              video: Optional[str] = None) -> None:
    """Raise ``ValueError`` naming the file unless ``shape`` is ``(T, C)``
    with ``T, C >= 1`` and ``dtype`` is a real number type."""
    dtype = np.dtype(dtype)
    if dtype.kind not in FEATURE_DTYPE_KINDS:
        raise ValueError(
            f'{_where(path, video)}: features must be real numbers, got '
            f'dtype {dtype} (complex, bool, object and string arrays are '
            'refused)')
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise ValueError(f'{_where(path, video)}: expected features of shape '
                         f'(T, C) with T, C >= 1, got shape {tuple(shape)}')


def read_npy_header(path: str, video: Optional[str] = None):
    """``(shape, dtype)`` of a ``.npy`` file from its header, without
    reading the data.

    Raises:
        ValueError: (naming the file) it is empty, not a ``.npy`` file, an
            object array, or shorter than its header says (truncated).
    """
    where = _where(path, video)
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(f'{where}: empty feature file (0 bytes)')
    with open(path, 'rb') as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f)
        except (ValueError, EOFError, OSError) as exc:
            raise ValueError(
                f'{where}: not a valid .npy file ({exc})') from None
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f'{where}: holds Python objects (a pickle), not '
                         'numbers; refused')
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < need:
        raise ValueError(
            f'{where}: truncated: {size} bytes, but its header announces a '
            f'{tuple(shape)} {dtype} array ({need} bytes); extract or copy '
            'it again')
    return tuple(shape), dtype


def load_feature_file(path: str, video: Optional[str] = None) -> np.ndarray:
    """Read a ``(T, C)`` array of real numbers from ``.npy`` or ``.pt``
    (safe loaders only: a feature file never executes code).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty, truncated, not an array, not ``(T, C)``
            or not real numbers; the message names the file (and
            ``video``).
    """
    where = _where(path, video)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Feature file {where} does not exist.')
    if path.endswith('.pt') or path.endswith('.pth'):
        if osp.getsize(path) == 0:
            raise ValueError(f'{where}: empty feature file (0 bytes)')
        try:
            # weights_only=True: a feature file must never execute code.
            obj = torch.load(path, map_location='cpu', weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError,
                KeyError, ValueError) as exc:
            raise ValueError(f'{where}: cannot be read as a tensor file '
                             f'({" ".join(str(exc).split())[:200]})') \
                from None
        if isinstance(obj, dict) and len(obj) == 1:
            obj = next(iter(obj.values()))
        if isinstance(obj, torch.Tensor):
            if obj.is_complex() or obj.dtype == torch.bool:
                raise ValueError(f'{where}: features must be real numbers, '
                                 f'got a {obj.dtype} tensor')
            obj = obj.detach().float().numpy()
        if not isinstance(obj, np.ndarray):
            raise TypeError(f'{where}: expected a tensor of shape (T, C), '
                            f'got {type(obj).__name__}.')
        check_feature_shape_dtype(obj.shape, obj.dtype, path, video)
        return obj
    shape, dtype = read_npy_header(path, video)
    check_feature_shape_dtype(shape, dtype, path, video)
    try:
        # allow_pickle=False: a feature file must never execute code.
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f'{where}: cannot be read ({exc})') from None


@TRANSFORMS.register_module()
class LoadTALFeatures(BaseTransform):
    """Load the features of one video and its ground truth in grid units.

    Required keys: ``feature_path``, ``duration``, ``fps``, ``feat_stride``,
    ``num_frames``, ``gt_segments`` ``(N, 2)`` seconds, ``gt_labels`` ``(N,)``.

    Added keys:

    * ``inputs``: float32 ``(C, T)`` (the file holds ``(T, C)``).
    * ``feat_len``: ``T``; ``feat_offset``: 0 (grid index of the first
      snippet, changed by :class:`RandomTruncateTAL`).
    * ``grid_segments`` float32 ``(N, 2)``: ``gt_segments`` on the feature
      grid (``time_grid.seconds_to_grid``); ``grid_labels`` int64 ``(N,)``.
      ``gt_segments`` / ``gt_labels`` stay untouched (seconds, whole video):
      they are the evaluation ground truth.

    Checks (each error names the file and what was expected):

    * the file is complete (a 0-byte or truncated ``.npy`` is named) and
      holds a 2-D ``(T, C)`` array of real numbers with ``T >= 1``
      (:func:`load_feature_file`; complex, bool and object arrays are
      refused);
    * ``C == feat_dim`` when ``feat_dim`` is given;
    * ``T`` agrees with the video's duration: the expected length is
      ``(duration * fps - num_frames) / feat_stride + 1``; an error is raised
      when ``|T - expected| > length_tolerance * expected + num_frames /
      feat_stride + 2`` (the absolute slack covers padding conventions of
      feature extractors). The default tolerance, 0.3, is generous: it
      catches a wrong ``feat_stride`` / ``fps`` (a factor of 2) or, often, a
      feature file of another video, not the few-percent differences between
      extractors (the real THUMOS14 I3D samples deviate by 8-9%). Set
      ``length_tolerance=None`` for features resized to a fixed length
      (ActivityNet-style).
    * every value is finite (``check_finite=True``).

    Args:
        feat_dim (int, optional): expected number of channels ``C``.
        length_tolerance (float, optional): relative tolerance on ``T``, see
            above. Default 0.3.
        check_finite (bool): reject NaN / Inf. Default True.
    """

    def __init__(self,
                 feat_dim: Optional[int] = None,
                 length_tolerance: Optional[float] = 0.3,
                 check_finite: bool = True):
        self.feat_dim = feat_dim
        self.length_tolerance = length_tolerance
        self.check_finite = check_finite

    def transform(self, results: dict) -> dict:
        path = results['feature_path']
        video = results.get('video_name', osp.basename(path))
        feats = np.asarray(load_feature_file(path, video))  # (T, C), real
        T, C = feats.shape
        if self.feat_dim is not None and C != self.feat_dim:
            hint = (' It looks transposed: store (T, C).'
                    if T == self.feat_dim else '')
            raise ValueError(
                f'{path} (video "{video}"): expected (T, {self.feat_dim}) '
                f'features, got shape {feats.shape}.{hint}')
        duration, fps = float(results['duration']), float(results['fps'])
        stride, nf = results['feat_stride'], results['num_frames']
        if self.length_tolerance is not None:
            exp = expected_feat_len(duration, fps, stride, nf)
            slack = self.length_tolerance * exp + nf / stride + 2
            if abs(T - exp) > slack:
                raise ValueError(
                    f'{path} (video "{video}"): {T} snippets, but a '
                    f'{duration:.2f} s video at {fps:g} fps with '
                    f'feat_stride={stride} and num_frames={nf} should have '
                    f'about {exp:.0f} (tolerance ±{slack:.0f}). Check fps / '
                    'feat_stride, or set LoadTALFeatures(length_tolerance='
                    'None) for fixed-length features.')
        if self.check_finite:
            bad = ~np.isfinite(feats)
            if bad.any():
                raise ValueError(
                    f'{path} (video "{video}"): {int(bad.sum())} non-finite '
                    f'values (NaN/Inf) in features of shape {feats.shape}.')
        results['inputs'] = np.ascontiguousarray(feats.T, dtype=np.float32)
        results['feat_len'] = T
        results['feat_offset'] = 0
        # no ground truth (inference on a new video): empty instances
        segs = np.asarray(results.setdefault('gt_segments',
                                             np.zeros((0, 2), np.float32)),
                          dtype=np.float32).reshape(-1, 2)
        labels = np.asarray(results.setdefault('gt_labels',
                                               np.zeros(0, np.int64)),
                            dtype=np.int64).reshape(-1)
        if len(labels) != len(segs):
            raise ValueError(f'video "{video}": {len(segs)} gt_segments but '
                             f'{len(labels)} gt_labels.')
        results['grid_segments'] = seconds_to_grid(segs, fps, stride,
                                                   nf).astype(np.float32)
        results['grid_labels'] = labels
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(feat_dim={self.feat_dim}, '
                f'length_tolerance={self.length_tolerance}, '
                f'check_finite={self.check_finite})')
