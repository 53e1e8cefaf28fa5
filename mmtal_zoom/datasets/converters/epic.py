"""EPIC sources: ``epic-sounds`` and ``epic-kitchens-verb`` /
``epic-kitchens-noun`` CSVs, with ``EPIC_100_video_info.csv`` for durations
and the official class ids for the class order."""
import re
from typing import Optional, Sequence

from ._common import ConversionError, Converted, _csv_rows, _number, _subset_of


def _timestamp(value: str, where: str, field: str) -> float:
    """``HH:MM:SS.ff`` (EPIC) in seconds."""
    m = re.fullmatch(r'(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)', value)
    if m is None:
        raise ConversionError(f'{where}: "{field}" must be HH:MM:SS.ff, got '
                              f'{value!r}.')
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


EPIC_VIDEO_INFO = ('video_id', 'duration', 'fps')


def _from_epic_csv(paths: Sequence[str], subset: Optional[str],
                   encoding: str, label_col: str, id_col: str,
                   what: str) -> Converted:
    """EPIC-style CSVs (``video_id``, ``start_timestamp``,
    ``stop_timestamp``, a label and its id column), with
    ``EPIC_100_video_info.csv`` among the inputs for durations and fps
    (recognised by its header). The official ids give the class order."""
    videos = Converted()
    info, ids = {}, {}
    for path in paths:
        header, rows = _csv_rows(path, encoding, ('video_id', ))
        if 'start_timestamp' not in header and all(
                c in header for c in EPIC_VIDEO_INFO):
            for n, r in rows:
                where = f'{path}:{n}'
                info[r['video_id']] = (
                    _number(r['duration'], where, 'duration'),
                    _number(r['fps'], where, 'fps'))
            continue
        _, rows = _csv_rows(path, encoding,
                            ('video_id', 'start_timestamp', 'stop_timestamp',
                             label_col))
        sub = _subset_of(path, subset)
        for n, r in rows:
            where = f'{path}:{n}'
            s = _timestamp(r['start_timestamp'], where, 'start_timestamp')
            e = _timestamp(r['stop_timestamp'], where, 'stop_timestamp')
            label = r[label_col]
            if not label:
                raise ConversionError(f'{where}: empty "{label_col}".')
            if r.get(id_col):
                lid = int(_number(r[id_col], where, id_col))
                if ids.setdefault(lid, label) != label:
                    raise ConversionError(
                        f'{where}: "{id_col}" {lid} is "{label}" here but '
                        f'"{ids[lid]}" on an earlier line.')
            entry = videos.setdefault(r['video_id'], dict(
                subset=sub, duration=None, fps=None, instances=[]))
            if entry['subset'] != sub:
                raise ConversionError(
                    f'{where}: video "{r["video_id"]}" is in both '
                    f'{entry["subset"]} and {sub}.')
            entry['instances'].append((label, s, e))
    if not videos:
        raise ConversionError(f'no {what} annotation file among '
                              f'{list(paths)}.')
    for vid, entry in videos.items():
        if vid in info:
            entry['duration'], entry['fps'] = info[vid]
    labels = {lab for e in videos.values() for lab, _, _ in e['instances']}
    if ids and sorted(ids) == list(range(len(ids))) and \
            labels <= set(ids.values()):
        videos.classes = [ids[i] for i in range(len(ids))]
    return videos


def from_epic_sounds(paths: Sequence[str], subset: Optional[str] = None,
                     encoding: str = 'utf-8') -> Converted:
    """EPIC-Sounds ``EPIC_Sounds_<split>.csv`` (``class`` / ``class_id``)."""
    return _from_epic_csv(paths, subset, encoding, 'class', 'class_id',
                          'EPIC-Sounds')


def from_epic_kitchens(paths: Sequence[str], target: str,
                       subset: Optional[str] = None,
                       encoding: str = 'utf-8') -> Converted:
    """EPIC-KITCHENS-100 ``EPIC_100_<split>.csv``; ``target`` is ``verb``
    or ``noun`` (labels from that column, ids from ``<target>_class``)."""
    return _from_epic_csv(paths, subset, encoding, target, f'{target}_class',
                          'EPIC-KITCHENS-100')
