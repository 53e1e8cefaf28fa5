"""Write a TAL database in the layout MMAction2's ActivityNet localizers read.

MMAction2's ``ActivityNetDataset`` + ``LoadLocalizationFeature`` (BMN, BSN)
expect, as produced by its ``tools/data/activitynet`` scripts:

* one CSV per video, ``<feature dir>/<video>.csv``: a header line
  (``f0,f1,...``) then ``temporal_scale`` rows (100 for BMN) of
  ``feat_dim`` values: the snippet features *rescaled* to a fixed number of
  temporal points by ``activitynet_feature_postprocessing.pool_feature``
  (linear interpolation over the snippet axis, ``num_sample_bins`` points per
  output position, mean-pooled);
* annotation JSON files ``anet_anno_{train,val,test,full}.json`` (written by
  ``process_annotations.py``)::

      {"v_name": {"duration_second": 211.53, "duration_frame": 6337,
                  "feature_frame": 6336, "fps": 30.0, "rfps": 30.0,
                  "annotations": [{"segment": [30.0, 205.2],
                                   "label": "Rock climbing"}]}}

  Video names start with ``v_``: ``ANetMetric`` strips the first two
  characters to get the video id.

``feature_frame`` is set to ``duration_frame // feature_extraction_interval *
feature_extraction_interval`` so that the duration BMN's
``GenerateLocalizationLabels`` normalises by and the one its
``post_processing`` converts back with are the same.

:func:`make_anet_embedded` generates the database with the synthetic
generator of :mod:`mmtal_zoom.datasets.generators.synthetic` and
writes it in this layout; ``tools/make_anet_embedded.py`` is its CLI.
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, Iterable, Optional

import numpy as np

from ...utils.io import atomic_open, atomic_write_text

# ActivityNet-like timings for the embedded set (the synthetic
# generator re-parameterised): ~1-3 instances per 30-120 s video, lengths
# log-normal around 12 s (clipped by the generator to [0.4 s, D / 3]), i.e.
# mostly 5-33 % of the video with a tail of short ones (about 1 in 7 covers
# at most 5 %, the regime where BMN's 1 %-cell grid is coarse). Small:
# a BMN-sized model trains on it in minutes on 2 CPU cores.
ANET_LIKE_KWARGS = dict(
    num_videos=dict(train=48, val=16, test=32),
    num_classes=10,
    duration_range=(30.0, 120.0),
    model=dict(instance_rate=0.025, length_median=12.0, length_sigma=1.0,
               max_coverage=0.8))

SUBSET_ALIASES = {
    'train': 'train', 'training': 'train',
    'val': 'val', 'validation': 'val',
    'test': 'test', 'testing': 'test',
}


def rescale_features(feats: np.ndarray, num_points: int = 100,
                     num_sample_bins: int = 3,
                     pool_type: str = 'mean') -> np.ndarray:
    """Rescale ``(T, C)`` snippet features to ``(num_points, C)``.

    The maths of MMAction2's ``tools/data/activitynet/
    activitynet_feature_postprocessing.py::pool_feature`` (which calls
    ``scipy.interpolate.interp1d`` once per output point), vectorised: the
    snippet axis ``[eps, T - 1 - eps]`` is cut into ``num_points`` anchors;
    anchor ``k`` averages (or max-pools) the linear interpolation of the
    features at ``num_sample_bins`` evenly spaced positions from its start.

    Args:
        feats (np.ndarray): ``(T, C)``.
        num_points (int): output length (BMN's ``temporal_dim``).
        num_sample_bins (int): interpolated points per output position.
        pool_type (str): ``'mean'`` or ``'max'``.

    Returns:
        np.ndarray: ``(num_points, C)`` float32.
    """
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f'features must be (T, C), got shape {feats.shape}')
    t = feats.shape[0]
    if t == 0:
        raise ValueError('features have no snippets (T = 0)')
    if t == 1:
        return np.repeat(feats, num_points, axis=0).astype(np.float32)
    eps = 1e-4
    start, end = eps, t - 1 - eps
    anchor = (end - start) / num_points
    ptr = start + anchor * np.arange(num_points)
    pos = ptr[:, None] + np.arange(num_sample_bins)[None] / num_sample_bins \
        * anchor  # (num_points, bins)
    lo = np.clip(np.floor(pos).astype(np.int64), 0, t - 2)
    frac = (pos - lo)[..., None]
    values = feats[lo] * (1 - frac) + feats[lo + 1] * frac  # (P, bins, C)
    if pool_type == 'mean':
        out = values.mean(axis=1)
    elif pool_type == 'max':
        out = values.max(axis=1)
    else:
        raise NotImplementedError(f'Unsupported pool type {pool_type!r}')
    return out.astype(np.float32)


def _atomic_write_text(path: str, text: str) -> None:
    atomic_write_text(text, path)


def write_feature_csv(path: str, feats: np.ndarray,
                      float_format: str = '%.4f') -> None:
    """One video's ``(num_points, C)`` features as MMAction2's CSV
    (header ``f0,...,f{C-1}``), written atomically."""
    header = ','.join(f'f{i}' for i in range(feats.shape[1]))
    with atomic_open(path) as f:
        np.savetxt(f, feats, fmt=float_format, delimiter=',', header=header,
                   comments='')


def anet_video_info(name: str, entry: dict,
                    feature_extraction_interval: int = 16,
                    default_fps: float = 30.0) -> dict:
    """One video of a standard annotation database -> MMAction2's entry.

    Args:
        name (str): video name (for errors).
        entry (dict): ``{"duration", "fps"?, "annotations": [{"segment",
            "label"}]}``.

    Returns:
        dict: ``duration_second``, ``duration_frame``, ``feature_frame``,
        ``fps``, ``rfps``, ``annotations`` (``segment``, ``label``).
    """
    if 'duration' not in entry:
        raise KeyError(f'video {name!r}: missing "duration" (seconds)')
    duration = float(entry['duration'])
    if not duration > 0:
        raise ValueError(f'video {name!r}: duration must be > 0, got '
                         f'{duration}')
    fps = float(entry.get('fps') or default_fps)
    if not fps > 0:
        raise ValueError(f'video {name!r}: fps must be > 0, got {fps}')
    frames = max(int(round(duration * fps)), 1)
    interval = int(feature_extraction_interval)
    feature_frame = max(frames // interval * interval, 1)
    annotations = []
    for i, ann in enumerate(entry.get('annotations', [])):
        if 'segment' not in ann or 'label' not in ann:
            raise KeyError(f'video {name!r}, annotation {i}: expected '
                           f'"segment" and "label", got {sorted(ann)}')
        s, e = (float(v) for v in ann['segment'])
        annotations.append(dict(segment=[s, e], label=str(ann['label'])))
    return dict(duration_second=duration, duration_frame=frames,
                annotations=annotations, feature_frame=feature_frame,
                fps=fps, rfps=fps)


def _progress(items: Iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a requirement
        return items
    return tqdm(items, total=total, desc=desc, unit='video')


def write_anet_dataset(out_dir: str,
                       database: dict,
                       features: Dict[str, np.ndarray],
                       temporal_scale: int = 100,
                       feature_extraction_interval: int = 16,
                       num_sample_bins: int = 3,
                       float_format: str = '%.4f',
                       video_prefix: str = 'v_',
                       progress: bool = False) -> Dict[str, str]:
    """Write ``database`` + ``features`` in MMAction2's ActivityNet layout.

    Args:
        out_dir (str): destination; creates ``csv_mean_<temporal_scale>/``
            and ``anet_anno_{train,val,test,full}.json``.
        database (dict): the standard annotation format, either
            ``{"database": {video: ...}}`` or the inner ``{video: ...}``;
            each video has ``subset`` (train / val / test, or training /
            validation / testing), ``duration``, optional ``fps``,
            ``annotations``.
        features (dict): video -> ``(T, C)`` snippet features.
        temporal_scale (int): rows per CSV (BMN's ``temporal_dim``).
        feature_extraction_interval (int): BMN's value (16).
        num_sample_bins (int): see :func:`rescale_features`.
        float_format (str): CSV number format (MMAction2 writes ``%.4f``).
        video_prefix (str): prepended to names that lack it (``ANetMetric``
            strips two characters).
        progress (bool): show a progress bar.

    Returns:
        dict: paths ``feature_dir``, ``train``, ``val``, ``test``, ``full``.
    """
    db = database.get('database', database)
    if not isinstance(db, dict) or not db:
        raise ValueError('database is empty or not a dict of videos')
    feat_dir = osp.join(out_dir, f'csv_mean_{temporal_scale}')
    os.makedirs(feat_dir, exist_ok=True)
    splits = {'train': {}, 'val': {}, 'test': {}}
    full = {}
    for name in _progress(sorted(db), len(db), 'anet csv', progress):
        entry = db[name]
        subset = SUBSET_ALIASES.get(str(entry.get('subset', '')).lower())
        if subset is None:
            raise ValueError(
                f'video {name!r}: subset {entry.get("subset")!r} is not one '
                f'of {sorted(SUBSET_ALIASES)}')
        if name not in features:
            raise KeyError(f'video {name!r}: no features given')
        feats = np.asarray(features[name])
        if feats.ndim != 2:
            raise ValueError(f'video {name!r}: features must be (T, C), got '
                             f'shape {feats.shape}')
        out_name = name if name.startswith(video_prefix) else \
            video_prefix + name
        info = anet_video_info(name, entry, feature_extraction_interval)
        write_feature_csv(
            osp.join(feat_dir, out_name + '.csv'),
            rescale_features(feats, temporal_scale, num_sample_bins),
            float_format)
        splits[subset][out_name] = info
        full[out_name] = info
    paths = dict(feature_dir=feat_dir)
    for key, videos in list(splits.items()) + [('full', full)]:
        path = osp.join(out_dir, f'anet_anno_{key}.json')
        _atomic_write_text(path, json.dumps(videos))
        paths[key] = path
    return paths


def make_anet_embedded(out_dir: str,
                       feat_dim: int = 400,
                       temporal_scale: int = 100,
                       seed: int = 0,
                       progress: bool = False,
                       generator_kwargs: Optional[dict] = None
                       ) -> Dict[str, str]:
    """Generate a synthetic database (the synthetic generator) and write it in
    MMAction2's ActivityNet layout.

    Args:
        out_dir (str): destination directory.
        feat_dim (int): feature channels (BMN's default 400).
        temporal_scale (int): rows per CSV.
        seed (int): generator seed (deterministic output).
        progress (bool): progress bars.
        generator_kwargs (dict, optional): passed to
            ``generate_synthetic_database`` (number of videos per subset,
            durations, classes...), on top of ``ANET_LIKE_KWARGS`` (a
            ``model`` dict is merged key by key).

    Returns:
        dict: the paths of :func:`write_anet_dataset`.
    """
    from .synthetic import generate_synthetic_database
    kwargs = copy.deepcopy(ANET_LIKE_KWARGS)
    extra = dict(generator_kwargs or {})
    if isinstance(extra.get('model'), dict):
        kwargs['model'].update(extra.pop('model'))
    kwargs.update(extra)
    kwargs.setdefault('feat_dim', feat_dim)
    kwargs.setdefault('seed', seed)
    database, features = generate_synthetic_database(**kwargs)
    return write_anet_dataset(out_dir, database, features,
                              temporal_scale=temporal_scale,
                              progress=progress)


def write_anet_from_tal(tal_dir: str, out_dir: str,
                        temporal_scale: int = 100,
                        progress: bool = False) -> Dict[str, str]:
    """Rewrite a TAL-layout folder (``annotations.json`` + ``features/
    <video>.npy``, e.g. a benchmark-family preset) in MMAction2's ActivityNet
    layout, so that BMN-style localizers train on the same videos.

    Returns:
        dict: the paths of :func:`write_anet_dataset`.
    """
    with open(osp.join(tal_dir, 'annotations.json'), encoding='utf-8') as f:
        database = json.load(f)
    features = {
        v: np.load(osp.join(tal_dir, 'features', v + '.npy'))
        for v in database['database']
    }
    return write_anet_dataset(out_dir, database, features,
                              temporal_scale=temporal_scale,
                              progress=progress)


def planted_anet_database(num_videos: int = 8, feat_dim: int = 400,
                          seed: int = 0, fps: float = 30.0,
                          snippet_frames: int = 16,
                          subsets=('train', 'val', 'test')):
    """A minimal database with planted actions, for plumbing tests and smoke
    runs that must not depend on the synthetic generator's model.

    Each video (60-120 s) has 1-3 instances of one class ("act") covering
    3-30 % of it; features are Gaussian noise plus a mean shift of 1 on the
    first half of the channels inside the instances. Videos cycle through
    ``subsets``.

    Returns:
        tuple: ``(database, features)`` as :func:`write_anet_dataset` takes.
    """
    rng = np.random.default_rng(seed)
    db, feats = {}, {}
    for i in range(num_videos):
        duration = float(rng.uniform(60, 120))
        t = max(int(duration * fps / snippet_frames), 2)
        f = rng.normal(0, 0.3, (t, feat_dim)).astype(np.float32)
        anns = []
        for _ in range(int(rng.integers(1, 4))):
            length = duration * rng.uniform(0.03, 0.3)
            start = rng.uniform(0, duration - length)
            a = int(start * fps / snippet_frames)
            b = int((start + length) * fps / snippet_frames)
            f[a:b + 1, :feat_dim // 2] += 1.0
            anns.append(dict(label='act', label_id=0,
                             segment=[start, start + length]))
        name = f'planted{i:03d}'
        db[name] = dict(subset=subsets[i % len(subsets)], duration=duration,
                        fps=fps, annotations=anns)
        feats[name] = f
    return dict(database=db), feats
