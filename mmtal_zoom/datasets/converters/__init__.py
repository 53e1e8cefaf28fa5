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


One module per source family (``activitynet``, ``thumos``, ``ego4d``,
``charades``, ``epic``, ``generic_csv``), the shared readers in ``_common``
and the output side in ``standard``; every name stays importable from
``mmtal_zoom.datasets.converters``.
"""
from typing import Sequence

from ...utils.dicts import update_disjoint
from ._common import (THUMOS_SUBSETS, ConversionError, Converted, Videos,
                      _csv_rows, _field, _number, _read_json, _read_lines,
                      _segment, _subset_from_name, _subset_of)
from .activitynet import (_instances, from_anet13, from_fineaction,
                          from_mmaction_anet)
from .charades import from_charades
from .ego4d import from_ego4d_mq
from .epic import (EPIC_VIDEO_INFO, _from_epic_csv, _timestamp,
                   from_epic_kitchens, from_epic_sounds)
from .generic_csv import CSV_COLUMNS, from_csv
from .standard import (fill_durations, probe_videos, read_class_list,
                       to_standard)
from .thumos import from_multithumos_txt, from_thumos_txt

FORMATS = ('anet13', 'mmaction-anet', 'thumos-txt', 'csv', 'ego4d-mq',
           'fineaction', 'charades', 'epic-sounds', 'epic-kitchens-verb',
           'epic-kitchens-noun', 'multithumos-txt')

__all__ = ['FORMATS', 'THUMOS_SUBSETS', 'CSV_COLUMNS', 'EPIC_VIDEO_INFO',
           'Videos', 'Converted', 'ConversionError', 'convert',
           'from_anet13', 'from_mmaction_anet', 'from_fineaction',
           'from_thumos_txt', 'from_multithumos_txt', 'from_csv',
           'from_ego4d_mq', 'from_charades', 'from_epic_sounds',
           'from_epic_kitchens', 'probe_videos', 'fill_durations',
           'to_standard', 'read_class_list', '_read_json', '_read_lines',
           '_segment', '_instances', '_field', '_subset_from_name',
           '_subset_of', '_csv_rows', '_number', '_timestamp',
           '_from_epic_csv']


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
        clash = update_disjoint(out, readers[fmt](p, encoding))
        if clash:
            raise ConversionError(f'{p}: videos already read from another '
                                  f'file: {clash[:5]}.')
    return out
