"""The output side of the converters: durations and fps filled in from a
manifest or the videos, the standard TAL JSON, and class lists."""
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

from ._common import ConversionError, Videos


def probe_videos(video_dir: str, names: Iterable[str]) -> Dict[str, dict]:
    """``{name: dict(duration, fps)}`` for videos named ``<name>.<ext>`` in
    ``video_dir``, read with decord."""
    from mmtal_zoom.apis.video_snippets import VIDEO_EXTENSIONS
    if not osp.isdir(video_dir):
        raise ConversionError(f'{video_dir}: video folder does not exist.')
    by_stem = {}
    for f in os.listdir(video_dir):
        stem, ext = osp.splitext(f)
        if ext.lower() in VIDEO_EXTENSIONS:
            by_stem.setdefault(stem, osp.join(video_dir, f))
    out = {}
    for name in names:
        if name in by_stem:
            import decord
            vr = decord.VideoReader(by_stem[name])
            fps = float(vr.get_avg_fps())
            out[name] = dict(duration=len(vr) / fps, fps=fps)
    return out


def fill_durations(videos: Videos,
                   manifest: Optional[dict] = None,
                   video_dir: Optional[str] = None,
                   default_fps: Optional[float] = None) -> None:
    """Fill missing ``duration`` / ``fps`` in place: the manifest first, then
    the videos, then ``default_fps`` (fps only).

    Raises:
        ConversionError: durations still missing (names some videos);
            ``videos`` is then left unchanged.
    """
    if manifest is not None and (not isinstance(manifest, dict) or
                                 not isinstance(manifest.get('videos'),
                                                dict)):
        raise ConversionError('the manifest is not one of '
                              'tools/extract_features.py (no "videos" '
                              'object).')
    probed = {}
    if video_dir is not None:
        need = [v for v, e in videos.items()
                if e['duration'] is None or e['fps'] is None]
        probed = probe_videos(video_dir, need)
    mvideos = (manifest or {}).get('videos', {})
    filled = {}
    for vid, entry in videos.items():
        duration, fps = entry['duration'], entry['fps']
        for src in (mvideos.get(vid), probed.get(vid)):
            if src:
                if duration is None:
                    duration = float(src['duration'])
                if fps is None and src.get('fps'):
                    fps = float(src['fps'])
        filled[vid] = (duration, fps if fps is not None else default_fps)
    missing = sorted(v for v, (d, _) in filled.items() if d is None)
    if missing:
        raise ConversionError(
            f'{len(missing)} video(s) have no duration (e.g. {missing[:5]}): '
            'this source does not store it; give --manifest (from '
            'tools/extract_features.py) or --video-dir.')
    for vid, (duration, fps) in filled.items():
        videos[vid]['duration'], videos[vid]['fps'] = duration, fps


def to_standard(videos: Videos,
                classes: Optional[Sequence[str]] = None,
                version: str = 'mmtal_zoom-converted') -> dict:
    """The standard JSON object from the intermediate form.

    Args:
        videos: ``{video: dict(subset, duration, fps, instances)}``.
        classes: class names in label-id order; default: every label sorted
            alphabetically. A label outside a given list is an error.
        version: the ``version`` field.
    """
    labels = sorted({lab for e in videos.values()
                     for lab, _, _ in e['instances']})
    if classes is None:
        classes = labels
    else:
        unknown = [lab for lab in labels if lab not in classes]
        if unknown:
            raise ConversionError(f'label(s) {unknown} are not in the class '
                                  f'list ({len(classes)} classes).')
    index = {c: i for i, c in enumerate(classes)}
    database = {}
    for vid in sorted(videos):
        e = videos[vid]
        anns = []
        for lab, s, t in sorted(e['instances'], key=lambda x: (x[1], x[2])):
            a = dict(label=lab, segment=[round(s, 6), round(t, 6)])
            if e['fps']:
                a['segment(frames)'] = [round(s * e['fps'], 3),
                                        round(t * e['fps'], 3)]
            a['label_id'] = index[lab]
            anns.append(a)
        entry = dict(subset=e['subset'], duration=round(float(e['duration']),
                                                        6))
        if e['fps']:
            entry['fps'] = round(float(e['fps']), 6)
        entry['annotations'] = anns
        database[vid] = entry
    return dict(version=version, database=database)


def read_class_list(arg: str) -> List[str]:
    """Class names from a file (one per line) or a comma-separated list."""
    if osp.isfile(arg):
        with open(arg, encoding='utf-8') as f:
            names = [ln.strip() for ln in f if ln.strip()
                     and not ln.startswith('#')]
    else:
        names = [c.strip() for c in arg.split(',') if c.strip()]
    if len(set(names)) != len(names):
        raise ConversionError(f'class list {arg} has duplicates.')
    if not names:
        raise ConversionError(f'class list {arg} is empty.')
    return names
