"""ActivityNet-style sources: ``anet13`` (ActivityNet-1.3 JSON),
``mmaction-anet`` (MMAction2's ``anet_anno_*.json``) and ``fineaction``
(ActivityNet-style, with fps)."""
import json
from typing import List, Optional, Sequence, Tuple

from ._common import (ConversionError, Videos, _field, _read_json,
                      _read_json_member, _segment, _subset_from_name)


def _instances(anns, where: str) -> List[Tuple[str, float, float]]:
    if anns is None:
        return []
    if not isinstance(anns, list):
        raise ConversionError(f'{where}: "annotations" must be a list.')
    out = []
    for i, a in enumerate(anns):
        if not isinstance(a, dict) or 'segment' not in a or 'label' not in a:
            raise ConversionError(f'{where} annotation {i}: expected '
                                  '{"segment": [s, e], "label": name}, got '
                                  f'{a!r}.')
        label = a['label']
        if isinstance(label, bool) or not isinstance(label, (str, int)) \
                or not str(label).strip():
            # null used to become the class "None"
            raise ConversionError(f'{where} annotation {i}: "label" must be '
                                  f'a class name, got {json.dumps(label)}.')
        s, e = _segment(a['segment'], f'{where} annotation {i}')
        out.append((str(label), s, e))
    return out


def from_anet13(path: str, encoding: str = 'utf-8') -> Videos:
    """ActivityNet-1.3 JSON."""
    db = _read_json_member(path, encoding, 'database', dict,
                           'an ActivityNet-1.3 JSON with a "database" object')
    videos: Videos = {}
    for vid, entry in db.items():
        where = f'{path}: video "{vid}"'
        if not isinstance(entry, dict) or 'subset' not in entry:
            raise ConversionError(f'{where}: expected an object with '
                                  '"subset", "duration", "annotations".')
        videos[vid] = dict(subset=str(entry['subset']),
                           duration=entry.get('duration'),
                           fps=entry.get('fps'),
                           instances=_instances(entry.get('annotations'),
                                                where))
    return videos


def from_mmaction_anet(paths: Sequence[str],
                       subset: Optional[str] = None,
                       encoding: str = 'utf-8') -> Videos:
    """MMAction2's ``anet_anno_{train,val,test}.json`` files."""
    videos: Videos = {}
    for path in paths:
        data = _read_json(path, encoding)
        if not isinstance(data, dict) or 'database' in data:
            raise ConversionError(
                f'{path}: expected MMAction2\'s ActivityNet localization '
                'format {video: {"duration_second", "duration_frame", '
                '"annotations"}}; for ActivityNet-1.3 JSON use anet13.')
        sub = subset or _subset_from_name(path)
        if sub is None:
            raise ConversionError(f'{path}: cannot tell the subset from the '
                                  'file name (train/val/test); pass --subset.')
        for vid, entry in data.items():
            where = f'{path}: video "{vid}"'
            if not isinstance(entry, dict) or 'duration_second' not in entry:
                raise ConversionError(f'{where}: no "duration_second".')
            dur = float(entry['duration_second'])
            frames = entry.get('duration_frame')
            fps = float(frames) / dur if frames and dur > 0 else None
            if vid in videos:
                raise ConversionError(f'{where}: video already listed in '
                                      'another file.')
            videos[vid] = dict(subset=sub, duration=dur, fps=fps,
                               instances=_instances(entry.get('annotations'),
                                                    where))
    return videos


def from_fineaction(path: str, encoding: str = 'utf-8') -> Videos:
    """FineAction's ``annotations_gt.json``: ActivityNet-style, with fps."""
    videos = from_anet13(path, encoding)
    for vid, entry in videos.items():
        for key in ('duration', 'fps'):
            if entry[key] is not None:
                _field(entry, key, f'{path}: video "{vid}"')
    return videos
