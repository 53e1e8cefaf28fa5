"""The ``charades`` source: ``Charades_v1_<split>.csv``."""
from typing import Optional

from ._common import (ConversionError, Videos, _csv_rows, _number, _segment,
                      _subset_of)


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
