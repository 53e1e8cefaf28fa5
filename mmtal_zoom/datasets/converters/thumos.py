"""THUMOS14-family text sources: ``thumos-txt`` (per-class
``<Class>_{val,test}.txt``) and ``multithumos-txt`` (MultiTHUMOS's
``annotations/<Class>.txt`` + ``class_list.txt``)."""
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Sequence, Tuple

from ._common import (THUMOS_SUBSETS, ConversionError, Converted, Videos,
                      _read_lines, _segment)


def _txt_files(paths: Sequence[str]) -> List[str]:
    """The given files, and the ``.txt`` files of the given folders (sorted).
    """
    files: List[str] = []
    for p in paths:
        if osp.isdir(p):
            files += sorted(osp.join(p, f) for f in os.listdir(p)
                            if f.endswith('.txt'))
        else:
            files.append(p)
    return files


def _video_start_end(path: str, lines: Sequence[str]
                     ) -> Iterator[Tuple[int, str, List[str]]]:
    """``(line number, video, [start, end])`` of the non-blank ``video start
    end`` lines of a class file; another shape is one error naming the line.
    """
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ConversionError(f'{path}:{n}: expected "video start '
                                  f'end", got {line.strip()!r}.')
        yield n, parts[0], parts[1:]


def from_thumos_txt(paths: Sequence[str],
                    include_ambiguous: bool = False,
                    encoding: str = 'utf-8') -> Videos:
    """THUMOS14 per-class text files (or folders of them)."""
    files = _txt_files(paths)
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
        for n, vid, start_end in _video_start_end(
                path, _read_lines(path, encoding)):
            s, e = _segment(start_end, f'{path}:{n}')
            entry = videos.setdefault(
                vid, dict(subset=subset, duration=None, fps=None,
                          instances=[]))
            if entry['subset'] != subset:
                raise ConversionError(
                    f'{path}:{n}: video "{vid}" is in both '
                    f'{entry["subset"]} and {subset}.')
            entry['instances'].append((label, s, e))
    return videos


def from_multithumos_txt(paths: Sequence[str],
                         encoding: str = 'utf-8') -> Converted:
    """MultiTHUMOS's ``annotations/<Class>.txt`` (lines ``video start
    end``, seconds) and optionally ``class_list.txt`` (lines ``<id> <Class>``,
    ids from 1: the official order), given as files or folders. Subsets from
    the THUMOS14 video names: ``video_validation_*`` -> ``Validation``,
    ``video_test_*`` -> ``Test``."""
    files = _txt_files(paths)
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
        for n, vid, start_end in _video_start_end(path, lines):
            m = re.match(r'video_(validation|test)_', vid)
            if m is None:
                raise ConversionError(
                    f'{path}:{n}: video "{vid}" is not a THUMOS14 video '
                    '(video_validation_* / video_test_*).')
            s, e = _segment(start_end, f'{path}:{n}')
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
