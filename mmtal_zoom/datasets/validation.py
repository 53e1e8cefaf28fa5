"""Checks of a custom TAL dataset (annotation JSON + one feature file per
video) for everything that commonly goes wrong, one message per problem.

The one validation path: ``tools/validate_dataset.py`` and
``tools/convert_annotations.py`` report every problem; ``TALFeatureDataset``
runs the same :func:`check_annotations` at load and refuses the data on any
error of :data:`DATASET_ERRORS`; ``tools/eval_detection.py`` checks segments
with the same :func:`segment_problem`. Errors are what would make
``TALFeatureDataset`` / ``LoadTALFeatures`` fail, or silently corrupt
training or evaluation; warnings are suspicious but usable. Each
:class:`Problem` names the file, video and field.
"""
import json
import os
import os.path as osp
from collections import Counter, defaultdict
from numbers import Real
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..utils.io import JSONInputError, load_json
from .transforms.loading import (check_feature_shape_dtype, expected_feat_len,
                                 load_feature_file, read_npy_header)
from .validation_report import (DATASET_ERRORS, Problem, ValidationReport,
                                format_summary, raise_on_errors)

# the report types live in validation_report.py; still importable from here
__all__ = ['Problem', 'ValidationReport', 'DATASET_ERRORS', 'raise_on_errors',
           'format_summary', 'segment_problem', 'load_annotation_database',
           'check_annotations', 'validate_tal_dataset', 'FEATURE_SUFFIXES',
           'MANIFEST_NAME']

FEATURE_SUFFIXES = ('.npy', '.pt')
MANIFEST_NAME = 'manifest.json'  # written by tools/extract_features.py


def _is_num(x) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and np.isfinite(x)


def segment_problem(seg, allow_empty: bool = True,
                    allow_negative: bool = True) -> Optional[str]:
    """Why ``seg`` is not a valid ``[start_s, end_s]``, or ``None``.

    A segment is a list of two finite numbers (not strings: ``"15"`` is not
    ``[1, 5]``) with ``end >= start``; ``allow_empty=False`` also refuses
    ``end == start``, ``allow_negative=False`` a start before 0.
    """
    if (not isinstance(seg, (list, tuple)) or len(seg) != 2
            or not all(_is_num(v) for v in seg)):
        return (f'"segment" must be [start_s, end_s], two finite numbers, '
                f'got {seg!r}')
    s, e = float(seg[0]), float(seg[1])
    if e < s:
        return f'segment [{s:g}, {e:g}] ends before it starts'
    if not allow_empty and e == s:
        return f'segment [{s:g}, {e:g}] has zero length'
    if not allow_negative and s < 0:
        return f'segment [{s:g}, {e:g}] starts before 0 s'
    return None


def load_annotation_database(ann_file: str, report: ValidationReport
                             ) -> Optional[dict]:
    """The ``database`` of a standard annotation JSON, or ``None`` after
    reporting why it cannot be read."""
    if not osp.isfile(ann_file):
        report.add('error', 'no-annotation-file', ann_file,
                   'file does not exist')
        return None
    try:
        ann = load_json(ann_file, 'annotation file')
    except JSONInputError as exc:
        code = ('duplicate-key' if 'appears twice' in str(exc) else
                'invalid-json')
        report.add('error', code, ann_file, str(exc).replace(
            f'annotation file {ann_file}', '').lstrip(': '))
        return None
    if not isinstance(ann, dict) or not isinstance(ann.get('database'),
                                                   dict):
        report.add('error', 'no-database', ann_file,
                   'expected {"database": {video: {"subset", "duration", '
                   '"fps", "annotations": [...]}}} (the format of '
                   'thumos14.json); convert other formats with '
                   'tools/convert_annotations.py')
        return None
    if not ann['database']:
        report.add('error', 'empty-database', ann_file, 'no videos')
        return None
    return ann['database']


def check_annotations(db: dict,
                      report: ValidationReport,
                      classes: Optional[Sequence[str]] = None,
                      subsets: Optional[Sequence[str]] = None,
                      default_fps: Optional[float] = None,
                      where: str = '') -> Dict[str, dict]:
    """Annotation-level checks. Returns the usable entries of the selected
    subsets: ``{video: dict(subset, duration, fps, instances=[(label,
    start, end)])}``."""
    prefix = f'{where}: ' if where else ''
    usable: Dict[str, dict] = {}
    name_ids: Dict[str, Counter] = defaultdict(Counter)
    id_names: Dict[int, Counter] = defaultdict(Counter)
    first_seen: Dict[Tuple, str] = {}
    subset_videos: Counter = Counter()
    subset_instances: Counter = Counter()
    class_index = None if classes is None else {
        c: i for i, c in enumerate(classes)}

    for video, entry in db.items():
        w = f'{prefix}video "{video}"'
        if not isinstance(entry, dict):
            report.add('error', 'bad-entry', w,
                       f'entry must be an object, got {type(entry).__name__}')
            continue
        subset = entry.get('subset')
        if not isinstance(subset, str):
            report.add('error', 'no-subset', w,
                       f'"subset" must be a string, got {subset!r}')
            continue
        subset_videos[subset] += 1
        if subsets is not None and subset not in subsets:
            continue
        duration = entry.get('duration')
        if not _is_num(duration) or duration <= 0:
            report.add('error', 'bad-duration', w,
                       f'"duration" must be a positive number of seconds, '
                       f'got {duration!r}')
            duration = None
        fps = entry.get('fps', None)
        if fps is None:
            fps = default_fps
        elif not _is_num(fps) or fps <= 0:
            report.add('error', 'bad-fps', w,
                       f'"fps" must be a positive number, got {fps!r}')
            fps = None
        anns = entry.get('annotations', [])
        if anns is None:
            anns = []
        if not isinstance(anns, list):
            report.add('error', 'bad-annotations', w,
                       '"annotations" must be a list, got '
                       f'{type(anns).__name__}')
            continue
        instances, seen = [], Counter()
        for i, a in enumerate(anns):
            aw = f'{w} annotation {i}'
            if not isinstance(a, dict):
                report.add('error', 'bad-annotation', aw,
                           'must be an object {"label", "segment", '
                           '"label_id"}')
                continue
            seg = a.get('segment')
            problem = segment_problem(seg)
            if problem is not None and not problem.startswith('segment ['):
                report.add('error', 'bad-segment', aw, problem)
                continue
            s, e = float(seg[0]), float(seg[1])
            label, lid = a.get('label'), a.get('label_id')
            if 'label' in a and not isinstance(label, str):
                report.add('error', 'bad-label', aw,
                           f'"label" must be a class name (a string), got '
                           f'{json.dumps(label)}')
                continue
            if label is None and lid is None:
                report.add('error', 'no-label', aw,
                           'has neither "label" nor "label_id"')
                continue
            if lid is not None and (isinstance(lid, bool)
                                    or not isinstance(lid, int)):
                report.add('error', 'bad-label-id', aw,
                           f'"label_id" must be an integer, got {lid!r}')
                continue
            name = label if label is not None else str(lid)
            if lid is not None:
                name_ids[name][lid] += 1
                id_names[lid][name] += 1
                first_seen.setdefault((name, lid), video)
            if class_index is not None:
                if name not in class_index:
                    report.add('error', 'unknown-label', aw,
                               f'label "{name}" is not one of the '
                               f'{len(class_index)} classes '
                               f'({", ".join(list(class_index)[:8])}'
                               f'{"..." if len(class_index) > 8 else ""})')
                elif lid is not None and lid != class_index[name]:
                    report.add('error', 'label-id-mismatch', aw,
                               f'label "{name}" has label_id {lid}, but it '
                               f'is class {class_index[name]} in the class '
                               'list')
            if e < s:
                report.add('error', 'reversed-segment', aw,
                           f'segment [{s:g}, {e:g}] ends before it starts')
                continue
            if e == s:
                report.add('warning', 'empty-segment', aw,
                           f'segment [{s:g}, {e:g}] has zero length')
            if duration is not None:
                if e <= 0 or s >= duration:
                    report.add('error', 'segment-outside-video', aw,
                               f'segment [{s:g}, {e:g}] lies outside the '
                               f'video [0, {duration:g}] s')
                elif s < 0 or e > duration + 1e-6:
                    report.add('warning', 'segment-beyond-video', aw,
                               f'segment [{s:g}, {e:g}] extends beyond the '
                               f'video [0, {duration:g}] s (clipped when '
                               'converted to the feature grid)')
            key = (name, round(s, 3), round(e, 3))
            seen[key] += 1
            if seen[key] == 2:
                report.add('error', 'duplicate-instance', aw,
                           f'"{name}" [{s:g}, {e:g}] appears more than once '
                           'in this video (a duplicate counts as a missed '
                           'detection at evaluation)')
                continue
            if seen[key] > 2:
                continue
            instances.append((name, s, e))
        subset_instances[subset] += len(instances)
        usable[video] = dict(subset=subset, duration=duration, fps=fps,
                             instances=instances)

    for name, ids in name_ids.items():
        if len(ids) > 1 and class_index is None:  # else reported above
            detail = ', '.join(f'{i} ({first_seen[(name, i)]!r}...)'
                               for i in sorted(ids))
            report.add('error', 'label-id-mismatch', f'{prefix}label "{name}"',
                       f'has several label_ids: {detail}')
    for lid, names in id_names.items():
        if len(names) > 1:
            report.add('error', 'label-id-mismatch', f'{prefix}label_id {lid}',
                       f'names several labels: {", ".join(sorted(names))}')

    if subsets is not None:
        for s in subsets:
            if subset_videos[s] == 0:
                report.add('error', 'empty-subset', f'{prefix}subset "{s}"',
                           'has no videos; the file has '
                           f'{dict(subset_videos)}')
    for s, n in subset_videos.items():
        if (subsets is None or s in subsets) and subset_instances[s] == 0:
            report.add('warning', 'subset-without-instances',
                       f'{prefix}subset "{s}"',
                       f'{n} video(s) but no action instances (fine for an '
                       'unlabelled test set; nothing to train or evaluate '
                       'on)')
    missing_fps = [v for v, u in usable.items() if u['fps'] is None]
    if missing_fps:
        report.add('error', 'no-fps', f'{prefix}{len(missing_fps)} video(s)',
                   f'have no "fps" and no default was given (e.g. '
                   f'{missing_fps[:3]}); pass --fps')
    labels = {n for u in usable.values() for n, _, _ in u['instances']}
    report.summary.update(
        videos_per_subset={k: v for k, v in subset_videos.items()
                           if subsets is None or k in subsets},
        instances_per_subset=dict(subset_instances),
        classes=sorted(labels) if classes is None else list(classes))
    return usable


def _feature_files(feature_dir: str) -> Dict[str, str]:
    files: Dict[str, str] = {}
    for f in sorted(os.listdir(feature_dir)):
        stem, ext = osp.splitext(f)
        if ext in FEATURE_SUFFIXES and osp.isfile(osp.join(feature_dir, f)):
            if stem not in files or ext == '.npy':  # .npy wins, as the loader
                files[stem] = osp.join(feature_dir, f)
    return files


def _feature_shape_and_finite(path: str) -> Tuple[tuple, int]:
    """Shape and number of non-finite values; ``ValueError`` (naming the
    file) for an empty, truncated, non-array or non-real file, as
    ``LoadTALFeatures`` would raise."""
    if path.endswith('.npy'):
        shape, dtype = read_npy_header(path)
        check_feature_shape_dtype(shape, dtype, path)
        arr = np.load(path, mmap_mode='r', allow_pickle=False)
    else:
        arr = load_feature_file(path)
    bad = int((~np.isfinite(arr)).sum()) if arr.dtype.kind == 'f' else 0
    return tuple(arr.shape), bad


def validate_tal_dataset(ann_file: str,
                         feature_dir: Optional[str],
                         feat_stride: Optional[int] = None,
                         num_frames: Optional[int] = None,
                         default_fps: Optional[float] = None,
                         subsets: Optional[Sequence[str]] = None,
                         classes: Optional[Sequence[str]] = None,
                         length_tolerance: float = 0.3,
                         length_warning: float = 0.15) -> ValidationReport:
    """Check an annotation file and its feature folder.

    Args:
        ann_file: the standard annotation JSON.
        feature_dir: folder of ``<video>.npy`` / ``.pt`` ``(T, C)`` files;
            ``None`` checks the annotations only.
        feat_stride, num_frames: the snippet grid; default: the folder's
            ``manifest.json`` (from ``tools/extract_features.py``), else 4 and
            16. Given and different from the manifest: an error.
        default_fps: fps of entries that have none; default: the manifest's,
            else 30.
        subsets: check only these subsets (each must exist).
        classes: the class list (index = label_id); labels outside it are
            errors. Default: the file's own labels.
        length_tolerance: relative tolerance on ``T`` beyond which
            ``LoadTALFeatures`` (default) rejects a file: an error here.
        length_warning: relative deviation reported as a warning.

    Returns:
        ValidationReport: ``problems`` (errors and warnings) and ``summary``.
    """
    report = ValidationReport()
    manifest = None
    if feature_dir is not None:
        if not osp.isdir(feature_dir):
            report.add('error', 'no-feature-dir', feature_dir,
                       'feature folder does not exist')
            feature_dir = None
        elif osp.isfile(osp.join(feature_dir, MANIFEST_NAME)):
            try:
                with open(osp.join(feature_dir, MANIFEST_NAME)) as f:
                    manifest = json.load(f)
            except (OSError, json.JSONDecodeError) as exc:
                report.add('warning', 'bad-manifest',
                           osp.join(feature_dir, MANIFEST_NAME),
                           f'cannot be read ({exc}); ignored')
    grid = dict(feat_stride=feat_stride, num_frames=num_frames)
    for key, default in (('feat_stride', 4), ('num_frames', 16)):
        from_manifest = (manifest or {}).get(key)
        if grid[key] is None:
            grid[key] = from_manifest or default
        elif from_manifest is not None and from_manifest != grid[key]:
            report.add('error', 'grid-mismatch',
                       osp.join(feature_dir, MANIFEST_NAME),
                       f'features were extracted with {key}={from_manifest} '
                       f'but {key}={grid[key]} was given')
    if default_fps is None:
        default_fps = (manifest or {}).get('fps') or 30.0
    report.summary.update(grid, default_fps=default_fps)

    db = load_annotation_database(ann_file, report)
    if db is None:
        return report
    if subsets is not None and isinstance(subsets, str):
        subsets = [subsets]
    usable = check_annotations(db, report, classes, subsets, default_fps)
    if feature_dir is None:
        return report

    files = _feature_files(feature_dir)
    for stem in sorted(set(files) - set(db)):
        report.add('warning', 'extra-feature-file', files[stem],
                   'no video of this name in the annotation file')
    dims: Dict[str, int] = {}
    lengths: Dict[str, int] = {}
    for video, info in usable.items():
        w = f'video "{video}"'
        path = files.get(video)
        if path is None:
            report.add('error', 'missing-feature', w,
                       f'no feature file {video}.npy or {video}.pt in '
                       f'{feature_dir}')
            continue
        try:
            shape, bad = _feature_shape_and_finite(path)
        except ValueError as exc:
            code = ('bad-feature-shape' if 'shape (T, C)' in str(exc) else
                    'bad-feature-dtype' if 'real numbers' in str(exc) else
                    'unreadable-feature')
            report.add('error', code, path,
                       str(exc).replace(f'{path}: ', '', 1))
            continue
        except Exception as exc:  # noqa: BLE001  (report any unreadable file)
            report.add('error', 'unreadable-feature', path,
                       f'cannot be read: {type(exc).__name__}: {exc}')
            continue
        if bad:
            report.add('error', 'non-finite-features', path,
                       f'{bad} NaN/Inf values')
        lengths[video], dims[video] = shape
        if info['duration'] is None or info['fps'] is None:
            continue
        exp = expected_feat_len(info['duration'], info['fps'],
                                grid['feat_stride'], grid['num_frames'])
        slack = (length_tolerance * exp +
                 grid['num_frames'] / grid['feat_stride'] + 2)
        dev = shape[0] - exp
        msg = (f'{shape[0]} snippets, but {info["duration"]:g} s at '
               f'{info["fps"]:g} fps with feat_stride={grid["feat_stride"]}, '
               f'num_frames={grid["num_frames"]} should give about '
               f'{exp:.0f} ((duration*fps - num_frames)/feat_stride + 1)')
        if abs(dev) > slack:
            hint = ''
            if exp > 0 and 1.7 < shape[0] / exp < 2.3:
                hint = '; looks like half the stride or twice the fps'
            elif exp > 0 and 0.4 < shape[0] / exp < 0.6:
                hint = '; looks like twice the stride or half the fps'
            report.add('error', 'length-mismatch', w,
                       msg + f' (tolerance ±{slack:.0f}){hint}')
        elif abs(dev) > length_warning * exp + 1:
            report.add('warning', 'length-deviation', w,
                       msg + f' ({100 * dev / exp:+.0f}%)')
        mv = ((manifest or {}).get('videos') or {}).get(video)
        if mv:
            if abs(mv.get('duration', info['duration']) -
                   info['duration']) > max(1.0, 0.05 * info['duration']):
                report.add('warning', 'duration-mismatch', w,
                           f'annotation says {info["duration"]:g} s, the '
                           f'video decoded to {mv["duration"]:g} s')
            if abs(mv.get('fps', info['fps']) - info['fps']) > \
                    0.01 * info['fps']:
                report.add('warning', 'fps-mismatch', w,
                           f'annotation says {info["fps"]:g} fps, features '
                           f'were extracted at {mv["fps"]:g} fps')
    if dims:
        common, n_common = Counter(dims.values()).most_common(1)[0]
        for video, c in sorted(dims.items()):
            if c != common:
                hint = (' (transposed? store (T, C))'
                        if lengths[video] == common else '')
                report.add('error', 'feature-dim-mismatch',
                           f'video "{video}"',
                           f'{c}-d features, but {n_common} other video(s) '
                           f'have {common}-d{hint}')
        report.summary['feat_dim'] = common
        report.summary['feat_len_range'] = (min(lengths.values()),
                                            max(lengths.values()))
    report.summary['videos_checked'] = len(dims)
    return report
