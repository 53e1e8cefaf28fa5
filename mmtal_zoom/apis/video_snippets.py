"""Which videos to extract and the snippet grid over their frames (see
:mod:`mmtal_zoom.apis.feature_extraction` for the convention)."""
import os
import os.path as osp
from typing import Dict, List, Sequence, Union

import numpy as np

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv',
                    '.mpg', '.mpeg', '.wmv', '.3gp', '.ts')


def snippet_count(num_video_frames: int, feat_stride: int,
                  num_frames: int) -> int:
    """``T = max(1, floor((N - num_frames) / feat_stride) + 1)``."""
    if num_video_frames < 1:
        raise ValueError(f'a video needs at least one frame, got '
                         f'{num_video_frames}')
    return max(1, (num_video_frames - num_frames) // feat_stride + 1)


def snippet_frame_indices(num_snippets: int, feat_stride: int, clip_len: int,
                          frame_interval: int,
                          num_video_frames: int) -> np.ndarray:
    """Frame indices ``(T, clip_len)`` of every snippet (clamped to the last
    frame for videos shorter than one window)."""
    starts = np.arange(num_snippets)[:, None] * feat_stride
    inds = starts + np.arange(clip_len)[None, :] * frame_interval
    return np.minimum(inds, num_video_frames - 1)


def collect_videos(inputs: Union[str, Sequence[str]],
                   extensions: Sequence[str] = VIDEO_EXTENSIONS) -> List[str]:
    """Video paths from files, folders (their videos, sorted) and ``.txt``
    lists (one path per line, relative to the list's folder; ``#`` starts a
    comment).

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: nothing to extract, or two videos share a name (the
            feature file is named after the video's file stem).
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    videos: List[str] = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, f) for f in os.listdir(item)
                if f.lower().endswith(tuple(extensions))
                and osp.isfile(osp.join(item, f)))
            if not found:
                raise ValueError(f'{item}: no video files (extensions '
                                 f'{", ".join(extensions)}) in this folder.')
            videos.extend(found)
        elif item.endswith('.txt') and osp.isfile(item):
            root = osp.dirname(osp.abspath(item))
            with open(item, encoding='utf-8') as f:
                for n, line in enumerate(f, 1):
                    line = line.split('#', 1)[0].strip()
                    if not line:
                        continue
                    path = line if osp.isabs(line) else osp.join(root, line)
                    if not osp.isfile(path):
                        raise FileNotFoundError(
                            f'{item}:{n}: video {path} does not exist.')
                    videos.append(path)
        elif osp.isfile(item):
            videos.append(item)
        else:
            raise FileNotFoundError(f'{item}: no such video, folder or list.')
    if not videos:
        raise ValueError(f'no videos found in {list(inputs)}.')
    names: Dict[str, str] = {}
    for v in videos:
        name = video_name_of(v)
        if name in names and osp.abspath(names[name]) != osp.abspath(v):
            raise ValueError(f'two videos are both named "{name}": '
                             f'{names[name]} and {v} (features are stored as '
                             '<name>.npy; rename one).')
        names[name] = v
    return list(dict.fromkeys(videos))


def video_name_of(path: str) -> str:
    """The video's name: its file name without extension."""
    return osp.splitext(osp.basename(path))[0]
