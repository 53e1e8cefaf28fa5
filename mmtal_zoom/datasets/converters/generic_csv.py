"""The generic ``csv`` source: ``video,start,end,label[,subset,duration,
fps]`` rows, with or without a header."""
import csv
from typing import Optional

from ._common import ConversionError, Videos, _read_lines, _segment

CSV_COLUMNS = ('video', 'start', 'end', 'label', 'subset', 'duration', 'fps')


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
