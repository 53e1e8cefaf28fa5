"""LoadTALFeatures: read one video's snippet features and put its ground
truth on the feature grid."""
import os.path as osp
import pickle
from typing import List, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ...structures.time_grid import seconds_to_grid


def resample_time(feats: np.ndarray, length: int) -> np.ndarray:
    """Linearly interpolate ``(T, C)`` features to ``(length, C)`` (the
    snippet centres of both grids span the same time)."""
    T = feats.shape[0]
    if T == length:
        return feats
    if T == 1:
        return np.repeat(feats, length, axis=0)
    pos = np.linspace(0.0, T - 1.0, length)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, T - 1)
    w = (pos - lo)[:, None]
    f = feats.astype(np.float64)
    return (f[lo] * (1 - w) + f[hi] * w).astype(np.float32)


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


#: declared layouts of a stored feature array
FEATURE_LAYOUTS = ('TC', 'CT')


def check_layout(layout: str) -> str:
    if layout not in FEATURE_LAYOUTS:
        raise ValueError(f'feature_layout must be one of {FEATURE_LAYOUTS} '
                         f'(declared, never guessed), got {layout!r}')
    return layout


def check_feature_shape_dtype(shape, dtype, path: str,
                              video: Optional[str] = None,
                              layout: str = 'TC') -> None:
    """Raise ``ValueError`` naming the file unless ``shape`` is 2-D (stored
    as ``layout``, ``(T, C)`` by default) with both sizes ``>= 1`` and
    ``dtype`` is a real number type."""
    dtype = np.dtype(dtype)
    if dtype.kind not in FEATURE_DTYPE_KINDS:
        raise ValueError(
            f'{_where(path, video)}: features must be real numbers, got '
            f'dtype {dtype} (complex, bool, object and string arrays are '
            'refused)')
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        name = '(T, C)' if layout == 'TC' else '(C, T)'
        raise ValueError(f'{_where(path, video)}: expected features of shape '
                         f'{name} with T, C >= 1 (feature_layout='
                         f'{layout!r}), got shape {tuple(shape)}')


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


def read_npz_array(path: str, key: Optional[str],
                   video: Optional[str] = None,
                   load: bool = True) -> Optional[np.ndarray]:
    """The array under ``key`` of a ``.npz`` file (``key=None``: the file
    must hold exactly one array). ``load=False`` only checks that the key
    exists. Errors name the file and the key."""
    where = _where(path, video)
    if osp.getsize(path) == 0:
        raise ValueError(f'{where}: empty feature file (0 bytes)')
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            if key is None:
                if len(keys) != 1:
                    raise ValueError(
                        f'{where}: .npz holds arrays {keys}; set '
                        'feature_key to the one holding the features')
                key = keys[0]
            if key not in keys:
                raise ValueError(f'{where}: .npz has no array feature_key='
                                 f'{key!r}; it holds {keys}')
            return np.asarray(npz[key]) if load else None
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f'{where}: not a valid .npz file ({exc})') from None
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f'{where}: cannot be read as .npz ({exc})') from None


def load_feature_file(path: str, video: Optional[str] = None,
                      layout: str = 'TC',
                      key: Optional[str] = None) -> np.ndarray:
    """Read a ``(T, C)`` array of real numbers from ``.npy``, ``.npz``
    (array ``key``) or ``.pt`` (safe loaders only: a feature file never
    executes code). ``layout`` declares how the file stores it: ``'TC'``
    (default) or ``'CT'`` (transposed on load).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty, truncated, not an array, not ``(T, C)``
            or not real numbers; the message names the file (and
            ``video``).
    """
    where = _where(path, video)
    check_layout(layout)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Feature file {where} does not exist.')
    arr = _load_stored_array(path, video, layout, key)
    return arr.T if layout == 'CT' else arr


def _load_stored_array(path, video, layout, key) -> np.ndarray:
    where = _where(path, video)
    if path.endswith('.npz'):
        arr = read_npz_array(path, key, video)
        check_feature_shape_dtype(arr.shape, arr.dtype, path, video, layout)
        return arr
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
        check_feature_shape_dtype(obj.shape, obj.dtype, path, video, layout)
        return obj
    shape, dtype = read_npy_header(path, video)
    check_feature_shape_dtype(shape, dtype, path, video, layout)
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
        resample_to_longest (bool): when the dataset gives several feature
            folders (``data_prefix=dict(feature=[...])``) whose ``T``
            differ, linearly interpolate the shorter ones to the longest
            ``T``. Default False: differing ``T`` is an error naming the
            video and the folders.

    The data-list entry may also carry ``feature_layout`` (``'TC'`` or
    ``'CT'``, how the file stores the array) and ``feature_key`` (the array
    of a ``.npz``); :class:`TALFeatureDataset` sets them from its own args.
    ``feature_path`` may be a list (several folders, concatenated along
    channels in that order).
    """

    def __init__(self,
                 feat_dim: Optional[int] = None,
                 length_tolerance: Optional[float] = 0.3,
                 check_finite: bool = True,
                 resample_to_longest: bool = False):
        self.feat_dim = feat_dim
        self.resample_to_longest = resample_to_longest
        self.length_tolerance = length_tolerance
        self.check_finite = check_finite

    def transform(self, results: dict) -> dict:
        path = results['feature_path']
        layout = results.get('feature_layout', 'TC')
        key = results.get('feature_key')
        if isinstance(path, (list, tuple)):
            video = results.get('video_name', osp.basename(path[0]))
            feats = self._load_concat(list(path), video, layout, key)
        else:
            video = results.get('video_name', osp.basename(path))
            feats = np.asarray(load_feature_file(path, video, layout, key))
        T, C = feats.shape  # (T, C), real
        if self.feat_dim is not None and C != self.feat_dim:
            if layout == 'TC':
                hint = (' It looks transposed: store (T, C) or declare '
                        "feature_layout='CT'."
                        if T == self.feat_dim else '')
            else:
                hint = (" The file contradicts feature_layout='CT': its "
                        'first axis should be C.')
            raise ValueError(
                f'{path} (video "{video}"): expected (T, {self.feat_dim}) '
                f'features (feature_layout={layout!r}), got shape '
                f'{feats.shape} after reading.{hint}')
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

    def _load_concat(self, paths: List[str], video: str, layout: str,
                     key: Optional[str]) -> np.ndarray:
        """Features of several folders, concatenated along channels. Their
        ``T`` must agree unless ``resample_to_longest`` (then the shorter
        ones are linearly interpolated to the longest ``T``)."""
        arrays = [np.asarray(load_feature_file(p, video, layout, key))
                  for p in paths]
        lengths = [a.shape[0] for a in arrays]
        if len(set(lengths)) > 1:
            if not self.resample_to_longest:
                listing = ', '.join(f'{osp.dirname(p) or "."}: T={n}'
                                    for p, n in zip(paths, lengths))
                raise ValueError(
                    f'video "{video}": feature folders disagree in T '
                    f'({listing}); set LoadTALFeatures(resample_to_longest='
                    'True) to interpolate the shorter ones.')
            T = max(lengths)
            arrays = [resample_time(a, T) for a in arrays]
        return np.concatenate(
            [a.astype(np.float32, copy=False) for a in arrays], axis=1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(feat_dim={self.feat_dim}, '
                f'length_tolerance={self.length_tolerance}, '
                f'check_finite={self.check_finite})')
