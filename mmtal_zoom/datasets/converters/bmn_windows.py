"""Long videos as fixed-length windows for BMN-style localizers, and back.

BMN and G-TAD, and RCL on top of them ("RCL: Recurrent Continuous
Localization for Temporal Action Detection", CVPR 2022, Table 1), run on
THUMOS14 in fixed windows of snippets: a THUMOS14 video (up to thousands of
snippets) cannot be rescaled to BMN's 100 points without losing its short
actions. MMAction2's BMN pipeline (``ActivityNetDataset``,
``LoadLocalizationFeature``, ``GenerateLocalizationLabels``, ``ANetMetric``)
reads one fixed-length feature file per "video". This module

* :func:`write_bmn_windows`: cuts every video of a standard TAL database into
  windows of ``window`` snippets and writes each window as such a
  pseudo-video (MMAction2's ActivityNet layout, :mod:`..generators.
  anet_format`); each window's entry also names its ``video`` and
  ``offset_second``;
* :func:`stitch_window_proposals`: maps the windows' proposals (the results
  file ``ANetMetric`` dumps) back to their videos, merges the overlapping
  windows with (Soft-)NMS and keeps the best ``max_per_video``; with a
  video-level classifier (:class:`VideoClassifierFusion`) they become
  detections.

Own design where the papers are silent (BMN / G-TAD describe windows of fixed
length with overlap, not these details):

* windows start every ``stride`` snippets; the last one ends at the video's
  end; a video shorter than one window is zero-padded at the end;
* time: BMN reads grid position ``i`` of a window as ``x = i / window``
  (normalised by ``duration_second``); position ``i`` is snippet
  ``start + i``, whose centre lies at ``((start + i) * feat_stride +
  num_frames / 2) / fps`` s, so a window's ``offset_second`` is ``(start *
  feat_stride + num_frames / 2) / fps`` and its ``duration_second`` is
  ``window * feat_stride / fps``;
* a ground-truth instance belongs to a window when at least ``min_overlap``
  of its length (of the window's, for an instance longer than the window)
  lies inside it, clipped to the window; training windows
  without an instance are skipped (they teach only background), windows of
  the other splits are all kept.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from ...utils.io import atomic_write_text
from ..generators.anet_format import (SUBSET_ALIASES, anet_video_info,
                                      write_feature_csv)

WINDOW_SEP = '__w'
BMN_FRAME_INTERVAL = 16


def window_starts(num_snippets: int, window: int, stride: int) -> List[int]:
    """First snippet of every window: ``0, stride, ...``, the last one ending
    at the video's end (one window at 0 when the video is shorter)."""
    if window < 1 or stride < 1:
        raise ValueError(f'window and stride must be >= 1, got {window}, '
                         f'{stride}')
    if num_snippets <= window:
        return [0]
    starts = list(range(0, num_snippets - window + 1, stride))
    if starts[-1] != num_snippets - window:
        starts.append(num_snippets - window)
    return starts


def window_name(video: str, start: int, prefix: str = 'v_') -> str:
    """``v_<video>__w<start>`` (``ANetMetric`` strips two characters)."""
    return f'{prefix}{video}{WINDOW_SEP}{start:06d}'


def _clip_instances(instances: List[Tuple[float, float, str]], lo: float,
                    hi: float, min_overlap: float) -> List[dict]:
    """Instances with at least ``min_overlap`` of their length inside
    ``[lo, hi]`` s, clipped to it, in window-relative seconds."""
    out = []
    for s, e, label in instances:
        inside = min(e, hi) - max(s, lo)
        # an instance longer than the window counts when it covers that
        # share of the window (it could never be that much inside it)
        need = min_overlap * min(e - s, hi - lo)
        if e <= s or inside <= 0 or inside < need:
            continue
        out.append(dict(segment=[max(s, lo) - lo, min(e, hi) - lo],
                        label=label))
    return out


def split_into_windows(database: dict,
                       features: Dict[str, np.ndarray],
                       window: int = 128,
                       stride: Optional[int] = None,
                       feat_stride: int = 4,
                       num_frames: int = 16,
                       default_fps: float = 30.0,
                       min_overlap: float = 0.75,
                       subset_map: Optional[Dict[str, str]] = None,
                       prefix: str = 'v_'
                       ) -> Tuple[Dict[str, dict], Dict[str, np.ndarray]]:
    """Windows of every video as MMAction2 ActivityNet-layout entries.

    Args:
        database (dict): the standard TAL annotation format (``{"database":
            {video: {"subset", "duration", "fps"?, "annotations"}}}`` or the
            inner dict).
        features (dict): video -> ``(T, C)`` snippet features.
        window (int): snippets per window (BMN's ``temporal_dim``).
        stride (int, optional): snippets between window starts, at most
            ``window`` (default ``window // 2``).
        feat_stride (int): frames between snippets (``window *
            feat_stride`` must be a multiple of 16, MMAction2 BMN's frame
            interval).
        num_frames (int): frames per snippet.
        default_fps (float): for videos without ``fps``.
        min_overlap (float): share of an instance that must lie in a window.
        subset_map (dict, optional): source subset -> ``train`` / ``val`` /
            ``test`` (default: the usual names, e.g. ``training`` ->
            ``train``); for THUMOS14 ``{"Validation": "train", "Test":
            "test"}``. Videos of unmapped subsets are left out.
        prefix (str): name prefix (``ANetMetric`` strips two characters).

    Returns:
        tuple: ``{window name: entry}`` (``subset`` one of train / val /
        test, ``duration_second``, ``duration_frame``, ``feature_frame``,
        ``fps``, ``rfps``, ``annotations``, ``video``, ``offset_second``,
        ``video_duration``) and ``{window name: (window, C) float32}``.
    """
    db = database.get('database', database)
    if not isinstance(db, dict) or not db:
        raise ValueError('database is empty or not a dict of videos')
    stride = max(window // 2, 1) if stride is None else int(stride)
    if not 1 <= stride <= window:
        raise ValueError(f'stride must be in [1, window = {window}] (a '
                         f'larger one leaves snippets out), got {stride}')
    frames = window * feat_stride
    if frames % BMN_FRAME_INTERVAL:
        # MMAction2's BMN post-processing floors duration_frame to a
        # multiple of 16 and rescales the proposals by the ratio
        raise ValueError(
            f'window x feat_stride = {frames} frames must be a multiple of '
            f'{BMN_FRAME_INTERVAL} (MMAction2 BMN rescales by '
            'duration_frame // 16 * 16 / duration_frame otherwise)')
    mapping = ({str(k).lower(): v for k, v in subset_map.items()}
               if subset_map else SUBSET_ALIASES)
    entries, feats_out = {}, {}
    for video in sorted(db):
        entry = db[video]
        split = mapping.get(str(entry.get('subset', '')).lower())
        if split is None:
            continue
        if video not in features:
            raise KeyError(f'video {video!r}: no features given')
        feats = np.asarray(features[video], dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] == 0:
            raise ValueError(f'video {video!r}: features must be (T, C) with '
                             f'T > 0, got shape {feats.shape}')
        # duration, fps and annotations checked as for a whole BMN video
        info = anet_video_info(video, entry, default_fps=default_fps)
        fps = info['fps']
        instances = [(*a['segment'], a['label'])
                     for a in info['annotations']]
        span = window * feat_stride / fps
        for start in window_starts(feats.shape[0], window, stride):
            offset = (start * feat_stride + num_frames / 2) / fps
            anns = _clip_instances(instances, offset, offset + span,
                                   min_overlap)
            if split == 'train' and not anns:
                continue
            chunk = feats[start:start + window]
            if chunk.shape[0] < window:
                chunk = np.concatenate([chunk, np.zeros(
                    (window - chunk.shape[0], chunk.shape[1]), np.float32)])
            name = window_name(video, start, prefix)
            entries[name] = dict(
                subset=split, duration_second=span, duration_frame=frames,
                feature_frame=frames, fps=fps, rfps=fps, annotations=anns,
                video=video, offset_second=offset,
                video_duration=info['duration_second'])
            feats_out[name] = chunk
    if not entries:
        raise ValueError('no window was written: no video of a mapped subset '
                         f'({sorted(set(mapping.values()))}) has features')
    return entries, feats_out


def write_bmn_windows(out_dir: str, database: dict,
                      features: Dict[str, np.ndarray],
                      window: int = 128, **kwargs) -> Dict[str, str]:
    """:func:`split_into_windows`, written as MMAction2's ActivityNet layout:
    ``<out_dir>/csv_window<window>/<name>.csv`` and
    ``<out_dir>/anet_anno_{train,val,test,full}.json`` (every file
    atomically).

    Returns:
        dict: paths ``feature_dir``, ``train``, ``val``, ``test``, ``full``.
    """
    entries, feats = split_into_windows(database, features, window=window,
                                        **kwargs)
    feat_dir = osp.join(out_dir, f'csv_window{window}')
    os.makedirs(feat_dir, exist_ok=True)
    splits: Dict[str, dict] = {'train': {}, 'val': {}, 'test': {}}
    for name, entry in entries.items():
        write_feature_csv(osp.join(feat_dir, name + '.csv'), feats[name])
        splits[entry['subset']][name] = entry
    paths = dict(feature_dir=feat_dir)
    for key, videos in list(splits.items()) + [('full', entries)]:
        path = osp.join(out_dir, f'anet_anno_{key}.json')
        atomic_write_text(json.dumps(videos), path)
        paths[key] = path
    return paths


def stitch_window_proposals(windows: Dict[str, dict],
                            results: Dict[str, list],
                            nms_cfg: Optional[dict] = None,
                            max_per_video: int = 200,
                            pre_nms_topk: int = 5000
                            ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """The windows' proposals as proposals of their videos.

    Args:
        windows (dict): the window entries (``anet_anno_*.json`` written by
            :func:`write_bmn_windows`).
        results (dict): ``{window id: [{"segment": [s, e], "score": p}]}``
            in window seconds (``ANetMetric``'s dump; ids with or without
            the ``v_`` prefix).
        nms_cfg (dict, optional): :func:`proposal_nms` settings (default
            Soft-NMS ``linear`` at 0.3, the threshold of BMN / RCL).
        max_per_video (int): proposals kept per video (RCL on THUMOS14:
            200).
        pre_nms_topk (int): proposals per video entering NMS.

    Returns:
        dict: video -> ``(segments (K, 2) s, scores (K,))``, best first,
        segments clipped to ``[0, duration]``.
    """
    import torch

    from ...structures.proposal_ops import proposal_nms
    nms_cfg = dict(nms_cfg or dict(method='linear', iou_threshold=0.3))
    nms_cfg['max_num'] = int(max_per_video)
    by_video: Dict[str, List[np.ndarray]] = {}
    lookup = {k[2:]: k for k in windows}
    lookup.update({k: k for k in windows})
    for wid, props in results.items():
        name = lookup.get(wid)
        if name is None:
            raise KeyError(f'results name window {wid!r}, which is not in '
                           'the windows annotation file')
        entry = windows[name]
        for i, p in enumerate(props):
            if 'segment' not in p or 'score' not in p:
                raise KeyError(f'window {wid!r}, proposal {i}: expected '
                               f'"segment" and "score", got {sorted(p)}')
        rows = np.array([[*p['segment'], p['score']] for p in props],
                        dtype=np.float64).reshape(-1, 3)
        rows[:, :2] = np.clip(rows[:, :2] + entry['offset_second'], 0.0,
                              entry['video_duration'])
        by_video.setdefault(entry['video'], []).append(rows)
    out = {}
    for video, parts in by_video.items():
        rows = np.concatenate(parts)
        rows = rows[rows[:, 1] > rows[:, 0]]
        segs, scores = proposal_nms(torch.from_numpy(rows[:, :2]),
                                    torch.from_numpy(rows[:, 2]), nms_cfg,
                                    pre_nms_topk)
        out[video] = (segs.numpy(), scores.numpy())
    return out
