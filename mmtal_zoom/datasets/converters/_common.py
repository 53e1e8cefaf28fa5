"""What every reader of :mod:`mmtal_zoom.datasets.converters` shares: the
intermediate form (:data:`Videos`, :class:`Converted`), the error type, and
the checked readers of files, segments, fields, CSV rows and subsets."""
import csv
import json
import math
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from ...utils.io import JSONInputError, load_json

THUMOS_SUBSETS = {'val': 'Validation', 'validation': 'Validation',
                  'test': 'Test'}

# Intermediate form: {video: dict(subset, duration, fps, instances=[(label,
# start, end)])}; duration / fps may be None until filled in.
Videos = Dict[str, dict]


class ConversionError(ValueError):
    """A source file cannot be converted; the message names file and line."""


class Converted(dict):
    """``Videos`` plus the source's own class order (``classes``: names in
    official id order, or ``None`` when the source has no ids)."""
    classes: Optional[List[str]] = None


def _read_json(path: str, encoding: str = 'utf-8'):
    try:
        return load_json(path, 'file', encoding=encoding)
    except FileNotFoundError:
        raise ConversionError(f'{path}: file does not exist.') from None
    except JSONInputError as exc:
        raise ConversionError(str(exc).replace('file ', '', 1)) from None


def _read_json_member(path: str, encoding: str, key: str, kind: type,
                      expected: str):
    """``data[key]`` of the JSON file ``path``, which must be a ``kind``
    (``dict`` / ``list``); else an error: ``<path>: expected <expected>.``"""
    data = _read_json(path, encoding)
    member = data.get(key) if isinstance(data, dict) else None
    if not isinstance(member, kind):
        raise ConversionError(f'{path}: expected {expected}.')
    return member


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


def _subset_from_name(path: str) -> Optional[str]:
    name = osp.basename(path).lower()
    for key, subset in (('train', 'training'), ('val', 'validation'),
                        ('test', 'testing')):
        if re.search(rf'(^|[_\-.]){key}', name):
            return subset
    return None


def _subset_of(path: str, subset: Optional[str]) -> str:
    sub = subset or _subset_from_name(path)
    if sub is None:
        raise ConversionError(f'{path}: cannot tell the subset from the file '
                              'name (train/val/test); pass --subset.')
    return sub


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


def _number(value: str, where: str, field: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = float('nan')
    if not math.isfinite(x):
        raise ConversionError(f'{where}: "{field}" must be a number, got '
                              f'{value!r}.')
    return x
