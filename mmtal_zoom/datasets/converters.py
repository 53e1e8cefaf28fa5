"""Convert common temporal-annotation formats to the standard TAL JSON.

The target is the format of ``thumos14.json`` that ``TALFeatureDataset``
reads (ActionFormer / TriDet / OpenTAD)::

    {"version": "...",
     "database": {video: {"subset": str, "duration": s, "fps": f,
                          "annotations": [{"label": name,
                                           "segment": [start_s, end_s],
                                           "segment(frames)": [sf, ef],
                                           "label_id": int}]}}}

Sources:

* ``anet13``: ActivityNet-1.3 JSON (``{"database": {id: {"subset",
  "duration", "annotations": [{"segment", "label"}]}}}``); subsets kept
  (``training`` / ``validation`` / ``testing``).
* ``mmaction-anet``: MMAction2's ActivityNet localization files
  (``anet_anno_{train,val,test}.json``: ``{id: {"duration_second",
  "duration_frame", "feature_frame", "annotations": [{"segment",
  "label"}]}}``), one file per subset (from the file name, or ``subset``);
  fps = ``duration_frame / duration_second``.
* ``thumos-txt``: THUMOS14's per-class files ``<Class>_val.txt`` /
  ``<Class>_test.txt`` (lines ``video start end``, seconds); subsets
  ``Validation`` / ``Test`` as in ``thumos14.json``; ``Ambiguous_*.txt``
  skipped unless asked. These files hold no durations.
* ``csv``: ``video,start,end,label[,subset,duration,fps]``, with or without
  a header line (a header may order the columns freely).
* ``ego4d-mq``: Ego4D Moment Queries ``moments_{train,val}.json``
  (``{"videos": [{"video_uid", "split", "clips": [{"clip_uid",
  "video_start_sec", "video_end_sec", "annotations": [{"labels":
  [{"label", "start_time", "end_time"}]}]}]}]}``): one entry per clip (the
  unit of the benchmark), times relative to the clip, duration = clip
  length, subset = the video's ``split``, fps from the clip's frame range
  (else 30, the canonical videos); the primary labels of all annotators are
  kept (``"primary": false`` ones are not scored by the benchmark), exact
  repeats once.
* ``fineaction``: FineAction's ``annotations_gt.json`` (ActivityNet-style
  ``database`` with per-video ``fps``); subsets kept.
* ``charades``: Charades ``Charades_v1_{train,test}.csv`` (columns ``id``,
  ``actions`` = ``"c092 11.90 21.20;c147 0.00 12.60"``, ``length`` seconds,
  others ignored); labels are the class codes (``c000`` ... ``c156``, so the
  alphabetical ids are the official ones); subset from the file name.
* ``epic-sounds``: EPIC-Sounds ``EPIC_Sounds_{train,validation}.csv``
  (``video_id``, ``start_timestamp`` / ``stop_timestamp`` as ``HH:MM:SS.ff``,
  ``class``); subset from the file name. Durations and fps come from
  EPIC-Kitchens' ``EPIC_100_video_info.csv`` (``video_id,duration,fps,...``)
  given as another input, else from ``--manifest``. Class ids: the
  official ``class_id`` order.
* ``epic-kitchens-verb`` / ``epic-kitchens-noun``: EPIC-KITCHENS-100
  ``EPIC_100_{train,validation}.csv`` (``video_id``, ``start_timestamp``,
  ``stop_timestamp``, ``verb`` / ``verb_class`` or ``noun`` /
  ``noun_class``), durations as for ``epic-sounds``; class ids: the
  official ``verb_class`` / ``noun_class`` order.
* ``multithumos-txt``: MultiTHUMOS's per-class ``annotations/<Class>.txt``
  (lines ``video start end``) with its ``class_list.txt`` (the official
  class order); subsets from the THUMOS14 video names. No durations.

Durations and frame rates missing from a source come from a feature
manifest (``tools/extract_features.py``), from the videos themselves (decord)
or, for fps, a default. Class ids: the order of a given class list, else the
source's own ids where it has them (:class:`Converted`'s ``classes``: the
EPIC formats, MultiTHUMOS), else the class names sorted alphabetically
(THUMOS14's own ids are that order).
"""
import csv
import json
import math
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..utils.io import JSONInputError, load_json

FORMATS = ('anet13', 'mmaction-anet', 'thumos-txt', 'csv', 'ego4d-mq',
           'fineaction', 'charades', 'epic-sounds', 'epic-kitchens-verb',
           'epic-kitchens-noun', 'multithumos-txt')
THUMOS_SUBSETS = {'val': 'Validation', 'validation': 'Validation',
                  'test': 'Test'}
CSV_COLUMNS = ('video', 'start', 'end', 'label', 'subset', 'duration', 'fps')

# Intermediate form: {video: dict(subset, duration, fps, instances=[(label,
# start, end)])}; duration / fps may be None until filled in.
Videos = Dict[str, dict]


class ConversionError(ValueError):
    """A source file cannot be converted; the message names file and line."""


def _read_json(path: str, encoding: str = 'utf-8'):
    try:
        return load_json(path, 'file', encoding=encoding)
    except FileNotFoundError:
        raise ConversionError(f'{path}: file does not exist.') from None
    except JSONInputError as exc:
        raise ConversionError(str(exc).replace('file ', '', 1)) from None


def _read_lines(path: str, encoding: str) -> List[str]:
    """Text lines of ``path``; a file in another encoding is one error
    naming it (``--encoding`` to read it)."""
    if not osp.isfile(path):
        raise ConversionError(f'{path}: file does not exist.')
    try:
        with open(path, encoding=encoding, newline='') as f:
            return f.read().splitlines()
    except UnicodeDecodeError as exc:
        shown = encoding.replace('-sig', '')
        raise ConversionError(
            f'{path}: not {shown} text (byte 0x{exc.object[exc.start]:02x} '
            f'at offset {exc.start}); pass --encoding (e.g. latin-1) or '
            're-save it as UTF-8.') from None
    except LookupError as exc:
        raise ConversionError(f'unknown encoding: {exc}') from None


def _segment(seg, where: str) -> Tuple[float, float]:
    """``[start, end]`` seconds: two numbers (or numeric strings, from text
    formats), finite. A single string is refused (``"15"`` is not
    ``[1, 5]``)."""
    values = None
    if isinstance(seg, (list, tuple)) and len(seg) == 2 and not any(
            isinstance(x, bool) for x in seg):
        try:
            values = [float(x) for x in seg]
        except (TypeError, ValueError):
            values = None
    if values is None:
        raise ConversionError(f'{where}: "segment" must be [start, end] in '
                              f'seconds, got {seg!r}.')
    if not all(math.isfinite(v) for v in values):
        raise ConversionError(f'{where}: "segment" {seg!r} is not finite.')
    return values[0], values[1]


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
    data = _read_json(path, encoding)
    db = data.get('database') if isinstance(data, dict) else None
    if not isinstance(db, dict):
        raise ConversionError(f'{path}: expected an ActivityNet-1.3 JSON '
                              'with a "database" object.')
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


def _subset_from_name(path: str) -> Optional[str]:
    name = osp.basename(path).lower()
    for key, subset in (('train', 'training'), ('val', 'validation'),
                        ('test', 'testing')):
        if re.search(rf'(^|[_\-.]){key}', name):
            return subset
    return None


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


def from_thumos_txt(paths: Sequence[str],
                    include_ambiguous: bool = False,
                    encoding: str = 'utf-8') -> Videos:
    """THUMOS14 per-class text files (or folders of them)."""
    files: List[str] = []
    for p in paths:
        if osp.isdir(p):
            files += sorted(osp.join(p, f) for f in os.listdir(p)
                            if f.endswith('.txt'))
        else:
            files.append(p)
    if not files:
        raise ConversionError(f'no .txt files in {list(paths)}.')
    videos: Videos = {}
    pattern = re.compile(r'^(?P<cls>.+)_(?P<split>val|validation|test)\.txt$',
                         re.IGNORECASE)
    for path in files:
        m = pattern.match(osp.basename(path))
        if m is None:
            raise ConversionError(
                f'{path}: expected a THUMOS14 class file named '
                '<Class>_val.txt or <Class>_test.txt.')
        label = m.group('cls')
        if label.lower() == 'ambiguous' and not include_ambiguous:
            continue
        subset = THUMOS_SUBSETS[m.group('split').lower()]
        for n, line in enumerate(_read_lines(path, encoding), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise ConversionError(f'{path}:{n}: expected "video start '
                                      f'end", got {line.strip()!r}.')
            vid = parts[0]
            s, e = _segment(parts[1:], f'{path}:{n}')
            entry = videos.setdefault(
                vid, dict(subset=subset, duration=None, fps=None,
                          instances=[]))
            if entry['subset'] != subset:
                raise ConversionError(
                    f'{path}:{n}: video "{vid}" is in both '
                    f'{entry["subset"]} and {subset}.')
            entry['instances'].append((label, s, e))
    return videos


def from_csv(path: str, default_subset: Optional[str] = None,
             encoding: str = 'utf-8') -> Videos:
    """``video,start,end,label[,subset,duration,fps]`` rows."""
    if encoding.lower().replace('_', '-') in ('utf-8', 'utf8'):
        encoding = 'utf-8-sig'  # a byte-order mark is not a column name
    rows = [r for r in csv.reader(_read_lines(path, encoding))
            if r and any(c.strip() for c in r)]
    if not rows:
        raise ConversionError(f'{path}: empty file.')
    header = [c.strip().lower() for c in rows[0]]
    if 'video' in header:
        missing = [c for c in CSV_COLUMNS[:4] if c not in header]
        if missing:
            raise ConversionError(f'{path}: header {rows[0]} lacks column(s) '
                                  f'{missing}; expected {CSV_COLUMNS}.')
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            raise ConversionError(f'{path}: unknown column(s) {unknown}; '
                                  f'expected some of {CSV_COLUMNS}.')
        columns, body, first = header, rows[1:], 2
    else:
        if not 4 <= len(rows[0]) <= len(CSV_COLUMNS):
            raise ConversionError(f'{path}:1: expected columns {CSV_COLUMNS} '
                                  f'(the last three optional), got '
                                  f'{rows[0]}.')
        columns, body, first = list(CSV_COLUMNS[:len(rows[0])]), rows, 1
    videos: Videos = {}
    for n, row in enumerate(body, first):
        if len(row) != len(columns):
            raise ConversionError(f'{path}:{n}: {len(row)} fields, expected '
                                  f'{len(columns)} ({", ".join(columns)}).')
        r = {c: v.strip() for c, v in zip(columns, row)}
        # a row with an empty label lists a video without instances
        if r['label']:
            s, e = _segment((r['start'], r['end']), f'{path}:{n}')
        subset = r.get('subset') or default_subset
        if not subset:
            raise ConversionError(f'{path}:{n}: no subset column and no '
                                  'default subset (--subset).')

        def num(key):
            if not r.get(key):
                return None
            try:
                return float(r[key])
            except ValueError as exc:
                raise ConversionError(f'{path}:{n}: {key} must be a number, '
                                      f'got {r[key]!r}.') from exc

        entry = videos.setdefault(r['video'], dict(
            subset=subset, duration=num('duration'), fps=num('fps'),
            instances=[]))
        for key in ('subset', 'duration', 'fps'):
            value = subset if key == 'subset' else num(key)
            if value is not None and entry[key] is None:
                entry[key] = value
            elif value is not None and entry[key] != value:
                raise ConversionError(
                    f'{path}:{n}: video "{r["video"]}" has {key} {value!r} '
                    f'here but {entry[key]!r} on an earlier line.')
        if r['label']:
            entry['instances'].append((r['label'], s, e))
    return videos


def _field(entry, key: str, where: str, kinds=(int, float)):
    """``entry[key]`` of the expected type(s), else one error naming
    ``where`` and the field."""
    if not isinstance(entry, dict) or key not in entry:
        raise ConversionError(f'{where}: no "{key}" field.')
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConversionError(f'{where}: "{key}" has the wrong type, got '
                              f'{json.dumps(value)}.')
    return value


def from_ego4d_mq(path: str, encoding: str = 'utf-8') -> Videos:
    """Ego4D Moment Queries annotations (``moments_<split>.json``)."""
    data = _read_json(path, encoding)
    vids = data.get('videos') if isinstance(data, dict) else None
    if not isinstance(vids, list):
        raise ConversionError(f'{path}: expected Ego4D\'s moments JSON with '
                              'a "videos" list.')
    videos: Videos = {}
    for i, video in enumerate(vids):
        vwhere = f'{path}: videos[{i}]'
        split = _field(video, 'split', vwhere, str)
        for j, clip in enumerate(_field(video, 'clips', vwhere, list)):
            where = f'{vwhere}.clips[{j}]'
            uid = _field(clip, 'clip_uid', where, str)
            where = f'{path}: clip "{uid}"'
            start = _field(clip, 'video_start_sec', where)
            end = _field(clip, 'video_end_sec', where)
            if not end > start:
                raise ConversionError(f'{where}: "video_end_sec" {end} is '
                                      f'not after "video_start_sec" {start}.')
            if uid in videos:
                raise ConversionError(f'{where}: clip listed twice.')
            seen, instances = set(), []
            for k, ann in enumerate(clip.get('annotations') or []):
                for m, lab in enumerate(_field(ann, 'labels',
                                               f'{where} annotations[{k}]',
                                               list)):
                    lwhere = f'{where} annotations[{k}].labels[{m}]'
                    label = _field(lab, 'label', lwhere, str)
                    if lab.get('primary') is False:
                        continue  # the benchmark scores primary labels
                    s, e = _segment([_field(lab, 'start_time', lwhere),
                                     _field(lab, 'end_time', lwhere)],
                                    lwhere)
                    if (label, s, e) not in seen:
                        seen.add((label, s, e))
                        instances.append((label, s, e))
            fps = 30.0  # the canonical videos
            frames = [clip.get(k) for k in ('video_start_frame',
                                            'video_end_frame')]
            if all(isinstance(f, int) and not isinstance(f, bool)
                   for f in frames) and frames[1] > frames[0]:
                fps = round((frames[1] - frames[0]) / (end - start), 6)
            videos[uid] = dict(subset=split, duration=float(end - start),
                               fps=fps, instances=instances)
    return videos


def from_fineaction(path: str, encoding: str = 'utf-8') -> Videos:
    """FineAction's ``annotations_gt.json``: ActivityNet-style, with fps."""
    videos = from_anet13(path, encoding)
    for vid, entry in videos.items():
        for key in ('duration', 'fps'):
            if entry[key] is not None:
                _field(entry, key, f'{path}: video "{vid}"')
    return videos


def _csv_rows(path: str, encoding: str, required: Sequence[str]):
    """``(header, [(line_no, {column: value})])`` of a CSV with a header;
    missing columns are one error naming the file and the columns."""
    if encoding.lower().replace('_', '-') in ('utf-8', 'utf8'):
        encoding = 'utf-8-sig'
    lines = _read_lines(path, encoding)
    rows = list(csv.reader(lines))
    if not rows:
        raise ConversionError(f'{path}: empty file.')
    header = [c.strip() for c in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ConversionError(f'{path}: header lacks column(s) {missing}.')
    out = []
    for n, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ConversionError(f'{path}:{n}: {len(row)} fields, expected '
                                  f'{len(header)}.')
        out.append((n, dict(zip(header, (c.strip() for c in row)))))
    return header, out


def _subset_of(path: str, subset: Optional[str]) -> str:
    sub = subset or _subset_from_name(path)
    if sub is None:
        raise ConversionError(f'{path}: cannot tell the subset from the file '
                              'name (train/val/test); pass --subset.')
    return sub


def _number(value: str, where: str, field: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = float('nan')
    if not math.isfinite(x):
        raise ConversionError(f'{where}: "{field}" must be a number, got '
                              f'{value!r}.')
    return x


def from_charades(path: str, subset: Optional[str] = None,
                  encoding: str = 'utf-8') -> Videos:
    """Charades ``Charades_v1_<split>.csv``."""
    sub = _subset_of(path, subset)
    _, rows = _csv_rows(path, encoding, ('id', 'actions', 'length'))
    videos: Videos = {}
    for n, r in rows:
        where = f'{path}:{n}'
        if r['id'] in videos:
            raise ConversionError(f'{where}: video "{r["id"]}" listed twice.')
        instances = []
        for part in filter(None, (p.strip() for p in r['actions'].split(';'))):
            fields = part.split()
            if len(fields) != 3:
                raise ConversionError(f'{where}: "actions" entry {part!r} is '
                                      'not "class start end".')
            s, e = _segment(fields[1:], where)
            instances.append((fields[0], s, e))
        videos[r['id']] = dict(subset=sub,
                               duration=_number(r['length'], where, 'length'),
                               fps=None, instances=instances)
    return videos


def _timestamp(value: str, where: str, field: str) -> float:
    """``HH:MM:SS.ff`` (EPIC) in seconds."""
    m = re.fullmatch(r'(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)', value)
    if m is None:
        raise ConversionError(f'{where}: "{field}" must be HH:MM:SS.ff, got '
                              f'{value!r}.')
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


EPIC_VIDEO_INFO = ('video_id', 'duration', 'fps')


class Converted(dict):
    """``Videos`` plus the source's own class order (``classes``: names in
    official id order, or ``None`` when the source has no ids)."""
    classes: Optional[List[str]] = None


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


def from_multithumos_txt(paths: Sequence[str],
                         encoding: str = 'utf-8') -> Converted:
    """MultiTHUMOS's ``annotations/<Class>.txt`` (lines ``video start
    end``, seconds) and optionally ``class_list.txt`` (lines ``<id> <Class>``,
    ids from 1: the official order), given as files or folders. Subsets from
    the THUMOS14 video names: ``video_validation_*`` -> ``Validation``,
    ``video_test_*`` -> ``Test``."""
    files: List[str] = []
    for p in paths:
        if osp.isdir(p):
            files += sorted(osp.join(p, f) for f in os.listdir(p)
                            if f.endswith('.txt'))
        else:
            files.append(p)
    videos = Converted()
    order: Dict[int, str] = {}
    for path in files:
        label = osp.splitext(osp.basename(path))[0]
        lines = _read_lines(path, encoding)
        if label == 'class_list':
            for n, line in enumerate(lines, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or not parts[0].isdigit():
                    raise ConversionError(f'{path}:{n}: expected "<id> '
                                          f'<Class>", got {line.strip()!r}.')
                order[int(parts[0])] = parts[1]
            continue
        for n, line in enumerate(lines, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise ConversionError(f'{path}:{n}: expected "video start '
                                      f'end", got {line.strip()!r}.')
            vid = parts[0]
            m = re.match(r'video_(validation|test)_', vid)
            if m is None:
                raise ConversionError(
                    f'{path}:{n}: video "{vid}" is not a THUMOS14 video '
                    '(video_validation_* / video_test_*).')
            s, e = _segment(parts[1:], f'{path}:{n}')
            videos.setdefault(vid, dict(
                subset=THUMOS_SUBSETS[m.group(1)], duration=None, fps=None,
                instances=[]))['instances'].append((label, s, e))
    if not videos:
        raise ConversionError(f'no MultiTHUMOS class files in {list(paths)}.')
    if order:
        if sorted(order) != list(range(1, len(order) + 1)):
            raise ConversionError('class_list.txt: ids are not 1..C.')
        videos.classes = [order[i] for i in range(1, len(order) + 1)]
    return videos


def convert(fmt: str, inputs: Sequence[str], **kwargs) -> Videos:
    """Dispatch to the reader of ``fmt`` (one of :data:`FORMATS`).

    Keyword arguments: ``subset``, ``include_ambiguous``, ``encoding`` (of
    the input files, default UTF-8).
    """
    encoding = kwargs.get('encoding') or 'utf-8'
    if fmt == 'mmaction-anet':
        return from_mmaction_anet(inputs, kwargs.get('subset'), encoding)
    if fmt == 'thumos-txt':
        return from_thumos_txt(inputs, kwargs.get('include_ambiguous', False),
                               encoding)
    if fmt == 'epic-sounds':
        return from_epic_sounds(inputs, kwargs.get('subset'), encoding)
    if fmt == 'multithumos-txt':
        return from_multithumos_txt(inputs, encoding)
    if fmt in ('epic-kitchens-verb', 'epic-kitchens-noun'):
        return from_epic_kitchens(inputs, fmt.rsplit('-', 1)[1],
                                  kwargs.get('subset'), encoding)
    readers = {
        'anet13': from_anet13,
        'fineaction': from_fineaction,
        'ego4d-mq': from_ego4d_mq,
        'csv': lambda p, enc: from_csv(p, kwargs.get('subset'), enc),
        'charades': lambda p, enc: from_charades(p, kwargs.get('subset'),
                                                 enc),
    }
    if fmt not in readers:
        raise ConversionError(f'unknown format {fmt!r}; expected one of '
                              f'{FORMATS}.')
    out: Videos = {}
    for p in inputs:
        part = readers[fmt](p, encoding)
        clash = set(part) & set(out)
        if clash:
            raise ConversionError(f'{p}: videos already read from another '
                                  f'file: {sorted(clash)[:5]}.')
        out.update(part)
    return out


def probe_videos(video_dir: str, names: Iterable[str]) -> Dict[str, dict]:
    """``{name: dict(duration, fps)}`` for videos named ``<name>.<ext>`` in
    ``video_dir``, read with decord."""
    from mmtal_zoom.apis.feature_extraction import VIDEO_EXTENSIONS
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
