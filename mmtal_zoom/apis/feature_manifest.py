"""The feature folder's manifest (``manifest.json``): reading it, deciding
whether a video's features are complete and current, the dataset settings it
implies, and atomic ``.npy`` writes."""
import io
import json
import os
import os.path as osp
from typing import Iterable, Optional, Tuple

import numpy as np

from ..utils import atomic_write_bytes

MANIFEST_NAME = 'manifest.json'
MANIFEST_VERSION = 1
_SETTING_KEYS = ('extractor_config', 'checkpoint', 'random_init', 'seed',
                 'feat_stride', 'num_frames', 'clip_len', 'frame_interval',
                 'fps', 'spatial_pipeline')


def save_npy_atomic(array: np.ndarray, path: str) -> str:
    """``np.save`` through a temporary file + ``os.replace``."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return atomic_write_bytes(buf.getvalue(), path)


def load_manifest(out_dir: str) -> Optional[dict]:
    """The manifest of a feature folder, or ``None`` when it has none."""
    path = osp.join(out_dir, MANIFEST_NAME)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not valid JSON ({exc}); delete it to '
                         'start over.') from exc
    if not isinstance(manifest, dict) or 'videos' not in manifest:
        raise ValueError(f'{path}: not a feature manifest (no "videos").')
    return manifest


def source_stamp(path: str) -> dict:
    """What identifies a video file's content cheaply: size and mtime
    (stored per video in the manifest; a change means re-extraction)."""
    st = os.stat(path)
    return dict(source_size=int(st.st_size),
                source_mtime_ns=int(st.st_mtime_ns))


def _is_done(out_dir: str, name: str, manifest: Optional[dict],
             source: Optional[str] = None) -> bool:
    """Whether ``name`` has complete features that are still those of
    ``source``: a file of the recorded shape, and a video whose size and
    mtime are those recorded at extraction (manifests written before these
    were recorded: a video newer than its features is redone)."""
    if not manifest or name not in manifest.get('videos', {}):
        return False
    entry = manifest['videos'][name]
    path = osp.join(out_dir, entry.get('file', name + '.npy'))
    if not osp.isfile(path):
        return False
    try:
        arr = np.load(path, mmap_mode='r', allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return False
    if arr.shape != (entry.get('feat_len'), manifest.get('feat_dim')):
        return False
    if source is not None and osp.isfile(source):
        stamp = source_stamp(source)
        if 'source_size' in entry:
            return all(entry.get(k) == v for k, v in stamp.items())
        return stamp['source_mtime_ns'] <= os.stat(path).st_mtime_ns
    return True


def dataset_settings_from_manifest(manifest: dict) -> dict:
    """``TALFeatureDataset`` settings that match a feature folder:
    ``feat_stride``, ``num_frames``, ``default_fps`` (``None`` when videos
    have different frame rates: then every annotation entry needs its own
    ``fps``) and ``feat_dim`` (the model's ``in_channels``)."""
    fps = manifest.get('fps')
    if fps is None:
        rates = {round(v['fps'], 3) for v in manifest['videos'].values()}
        fps = rates.pop() if len(rates) == 1 else None
    return dict(feat_stride=manifest['feat_stride'],
                num_frames=manifest['num_frames'], default_fps=fps,
                feat_dim=manifest.get('feat_dim'))


def iter_manifest_videos(manifest: dict) -> Iterable[Tuple[str, dict]]:
    """``(name, entry)`` pairs of a manifest, sorted by name."""
    return sorted(manifest.get('videos', {}).items())
