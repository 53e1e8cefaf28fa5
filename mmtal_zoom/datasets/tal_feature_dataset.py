"""TALFeatureDataset: pre-extracted snippet features + the field's annotation
JSON (ActionFormer / TriDet / OpenTAD format)."""
import logging
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmaction.registry import DATASETS, TRANSFORMS
from ..utils.annotations import classes_from_database
from ..utils.io import load_json
from .transforms.loading import (check_feature_shape_dtype, check_layout,
                                 read_npy_header, read_npz_array)
from .validation import (DATASET_ERRORS, ValidationReport, check_annotations,
                         raise_on_errors)

FEATURE_SUFFIXES = ('.npy', '.pt')
#: suffixes a ``feature_template`` may end with
TEMPLATE_SUFFIXES = ('.npy', '.npz', '.pt', '.pth')


@DATASETS.register_module()
class TALFeatureDataset(BaseDataset):
    """Temporal action localization on pre-extracted features.

    Annotation file (the format of THUMOS14's ``thumos14.json`` as used by
    ActionFormer, TriDet and CLTDR-GMG)::

        {"version": "...",
         "database": {
            "<video>": {"subset": "Validation", "duration": 33.8, "fps": 30.0,
                        "annotations": [{"label": "CricketShot",
                                         "segment": [1.0, 1.5],
                                         "label_id": 6}, ...]}}}

    ``fps`` may be missing (``default_fps`` is used), ``label_id`` may be
    missing (classes are then ordered by name), ``annotations`` may be missing
    or empty (a video without ground truth, kept only when
    ``filter_empty_gt=False`` or in ``test_mode``).

    Features: one file per video, ``<data_prefix['feature']>/<video><suffix>``,
    an array of shape ``(T, C)`` stored as ``.npy`` or as a tensor in ``.pt``
    (loaded with ``weights_only=True``). Features are read lazily by
    :class:`LoadTALFeatures`; here each file's existence and, for ``.npy``,
    its header are checked (``(T, C)``, real numbers, complete, the same
    ``C`` for every video), without reading the data.

    At load the annotation JSON goes through the validator's checks
    (:func:`mmtal_zoom.datasets.validation.check_annotations`, the code of
    ``tools/validate_dataset.py``): a video key given twice, a wrong type,
    NaN / Infinity in a segment, ``fps`` or ``duration``, a reversed
    segment or a missing label is an error naming the file, video and field
    (:data:`~mmtal_zoom.datasets.validation.DATASET_ERRORS`).

    Time in the data list is in seconds; :class:`LoadTALFeatures` converts it
    to feature-grid units with :mod:`mmtal_zoom.structures.time_grid`.

    Args:
        ann_file (str): the annotation JSON.
        data_prefix (dict): ``feature``: folder of the feature files.
        subset (str | list[str], optional): subset name(s) as written in the
            JSON (e.g. ``'Validation'``, ``['train', 'val']``). ``None``
            keeps every video.
        feat_stride (int): frames between consecutive snippets. Default 4.
        num_frames (int): frames per snippet. Default 16.
        default_fps (float, optional): fps when a JSON entry has none.
            Default 30. ``None``: every entry must have its own ``fps``.
        classes (Sequence[str], optional): class names, index = label id.
            ``None``: the classes of the whole JSON (every subset, so splits
            agree), ordered by ``label_id`` (then by name). Given: ``label_id``
            in the JSON is ignored and a label not in ``classes`` is an error.
            ``metainfo=dict(classes=...)`` is accepted too.
        filter_empty_gt (bool): drop videos without instances when not in
            ``test_mode``. Default True.
        feature_suffix (str, optional): ``'.npy'`` or ``'.pt'``. ``None``
            (default): ``.npy`` if present, else ``.pt``.
        check_features (bool): check at construction that every feature file
            exists and (``.npy``) has a valid header (a clear error early
            instead of a crash mid-training). Default True.
        feature_template (str, optional): file name of a video's features,
            ``{video}`` replaced by the video name, e.g. ``'v_{video}.npy'``
            (TriDet's ActivityNet TSP release) or ``'{video}.npz'``. Its
            suffix says the format (``.npy``, ``.npz``, ``.pt``). ``None``
            (default): ``<video><feature_suffix>`` as above.
        feature_key (str, optional): the array of a ``.npz`` file holding
            the features (``None``: the file must hold a single array).
        feature_layout (str): how files store the array, declared, never
            guessed: ``'TC'`` (default) or ``'CT'``. A ``.npy`` whose
            channel axis contradicts the other videos is an error naming
            the file.
        missing_videos_file (str, optional): a text file, one video name a
            line (``#`` starts a comment), of videos known to have no
            features: they are dropped with one warning naming their count
            and this file. A video missing without being listed is still an
            error naming it.

    ``data_prefix['feature']`` may be a list of folders (two-stream or
    multi-backbone releases): each video's files are concatenated along
    channels in that order; :class:`LoadTALFeatures` checks that their ``T``
    agree (or resamples, if declared with ``resample_to_longest=True``).

    Each data-list entry: ``video_name``, ``feature_path``, ``subset``,
    ``duration`` (s), ``fps``, ``feat_stride``, ``num_frames``,
    ``gt_segments`` float32 ``(N, 2)`` seconds, ``gt_labels`` int64 ``(N,)``.
    """

    METAINFO: dict = dict(classes=None)

    def __init__(self,
                 ann_file: str,
                 data_prefix: dict = dict(feature=''),
                 subset: Union[str, Sequence[str], None] = None,
                 feat_stride: int = 4,
                 num_frames: int = 16,
                 default_fps: Optional[float] = 30.0,
                 classes: Optional[Sequence[str]] = None,
                 filter_empty_gt: bool = True,
                 feature_suffix: Optional[str] = None,
                 check_features: bool = True,
                 feature_template: Optional[str] = None,
                 feature_key: Optional[str] = None,
                 feature_layout: str = 'TC',
                 missing_videos_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if isinstance(subset, str):
            subset = [subset]
        self.subset = None if subset is None else list(subset)
        self.feat_stride = feat_stride
        self.num_frames = num_frames
        self.default_fps = (None
                            if default_fps is None else float(default_fps))
        if classes is None and metainfo is not None:
            classes = metainfo.get('classes')
        if isinstance(classes, str):
            raise TypeError('classes must be a sequence of class names, got '
                            f'the string {classes!r}')
        self.classes_arg = None if classes is None else tuple(classes)
        self.filter_empty_gt = filter_empty_gt
        if feature_suffix is not None and feature_suffix not in \
                FEATURE_SUFFIXES:
            raise ValueError(f'feature_suffix must be one of '
                             f'{FEATURE_SUFFIXES} or None, got '
                             f'{feature_suffix!r}')
        self.feature_suffix = feature_suffix
        self.check_features = check_features
        if feature_template is not None:
            if '{video}' not in feature_template or not \
                    feature_template.endswith(TEMPLATE_SUFFIXES):
                raise ValueError(
                    'feature_template must contain "{video}" and end with '
                    f'one of {TEMPLATE_SUFFIXES}, got {feature_template!r}')
            if feature_suffix is not None:
                raise ValueError('give feature_template or feature_suffix, '
                                 'not both')
        self.feature_template = feature_template
        self.feature_key = feature_key
        self.feature_layout = check_layout(feature_layout)
        self.missing_videos_file = missing_videos_file
        if 'feature' not in data_prefix:
            raise KeyError("data_prefix must have a 'feature' key (the folder "
                           f'of the feature files), got {data_prefix}')
        # Build the transforms from MMAction2's registry here, so that the
        # dataset also works outside a runner (mmengine's ``Compose`` looks in
        # its root registry unless the default scope is ``mmaction``).
        kwargs['pipeline'] = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in kwargs.get('pipeline', [])
        ]
        super().__init__(ann_file=ann_file,
                         data_prefix=data_prefix,
                         metainfo=metainfo,
                         **kwargs)

    def _join_prefix(self):
        """mmengine's join with ``data_root``, also for a list of feature
        folders (mmengine accepts only a string per prefix)."""
        folders = self.data_prefix.get('feature')
        if not isinstance(folders, (list, tuple)):
            return super()._join_prefix()
        self.data_prefix['feature'] = ''
        super()._join_prefix()
        self.data_prefix['feature'] = [
            osp.join(self.data_root, f) if self.data_root else f
            for f in folders
        ]

    # ------------------------------------------------------------------
    def _read_database(self) -> dict:
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'TALFeatureDataset: annotation file {self.ann_file!r} does '
                'not exist (expected the standard TAL annotation JSON).')
        # one line naming the file: invalid JSON, not UTF-8, or a video key
        # given twice (json.load would keep only the last one)
        ann = load_json(self.ann_file, 'annotation file')
        if not isinstance(ann, dict) or not isinstance(ann.get('database'),
                                                       dict):
            raise ValueError(
                f'{self.ann_file}: expected a JSON object with a "database" '
                'field mapping video names to entries, got '
                f'{type(ann).__name__} with keys '
                f'{sorted(ann)[:5] if isinstance(ann, dict) else None}.')
        return ann['database']

    def _check_database(self, db: dict) -> None:
        """The validator's checks (:mod:`..validation`, the same code as
        ``tools/validate_dataset.py``): an error of ``DATASET_ERRORS``
        (types, NaN / Infinity, reversed segments, labels) is raised with
        the file, video and field; the other errors are logged."""
        report = ValidationReport()
        check_annotations(db, report, default_fps=self.default_fps,
                          where=self.ann_file)
        raise_on_errors(report, DATASET_ERRORS)
        kept = Counter(p.code for p in report.errors
                       if p.code != 'label-id-mismatch')
        if kept:
            print_log(
                f'TALFeatureDataset: {self.ann_file}: kept despite '
                + ', '.join(f'{n} x {c}' for c, n in sorted(kept.items()))
                + ' (python tools/validate_dataset.py lists them)',
                logger='current', level=logging.WARNING)

    def _classes_from_database(self, db: dict) -> Tuple[str, ...]:
        """Class names of the whole JSON, ordered by ``label_id``
        (:func:`mmtal_zoom.utils.annotations.classes_from_database`)."""
        try:
            return classes_from_database(db)
        except ValueError as exc:
            raise ValueError(f'{self.ann_file}: {exc}') from None

    def _feature_roots(self) -> List[str]:
        root = self.data_prefix['feature']
        return list(root) if isinstance(root, (list, tuple)) else [root]

    def _feature_path(self, video: str) -> Union[str, List[str]]:
        """The feature file of ``video`` (a list of files, one per folder,
        when ``data_prefix['feature']`` is a list)."""
        roots = self._feature_roots()
        paths = [self._feature_path_in(root, video) for root in roots]
        if isinstance(self.data_prefix['feature'], (list, tuple)):
            return paths
        return paths[0]

    def _feature_path_in(self, root: str, video: str) -> str:
        if self.feature_template is not None:
            paths = [osp.join(root,
                              self.feature_template.format(video=video))]
        else:
            suffixes = ((self.feature_suffix, )
                        if self.feature_suffix else FEATURE_SUFFIXES)
            paths = [osp.join(root, video + s) for s in suffixes]
        if not self.check_features:
            return paths[0]
        for p in paths:
            if osp.isfile(p):
                return p
        listed = (f' and not listed in missing_videos_file '
                  f'{self.missing_videos_file}'
                  if self.missing_videos_file else '')
        raise FileNotFoundError(
            f'TALFeatureDataset: no feature file for video "{video}": '
            f'tried {", ".join(paths)} (annotation file {self.ann_file})'
            f'{listed}.')

    def _feature_dim(self, video: str, path: Union[str, List[str]]
                     ) -> Optional[int]:
        """``C`` of a ``.npy`` file from its header (not its data): an
        empty, truncated, non-2-D or non-real file is an error naming it.
        A ``.npz`` is checked for its key; ``.pt`` files are checked when
        loaded. Several files: the sum of their ``C``."""
        if isinstance(path, list):
            dims = [self._feature_dim(video, p) for p in path]
            return None if None in dims else sum(dims)
        if path.endswith('.npz'):
            read_npz_array(path, self.feature_key, video, load=False)
            return None
        if not path.endswith('.npy'):
            return None
        shape, dtype = read_npy_header(path, video)
        check_feature_shape_dtype(shape, dtype, path, video,
                                  self.feature_layout)
        return shape[1] if self.feature_layout == 'TC' else shape[0]

    def _read_missing_videos(self) -> set:
        if self.missing_videos_file is None:
            return set()
        if not osp.isfile(self.missing_videos_file):
            raise FileNotFoundError(
                'TALFeatureDataset: missing_videos_file '
                f'{self.missing_videos_file!r} does not exist.')
        with open(self.missing_videos_file, encoding='utf-8') as f:
            names = (line.split('#', 1)[0].strip() for line in f)
            return {n for n in names if n}

    def load_data_list(self) -> List[dict]:
        """Parse the annotation JSON into one entry per video."""
        db = self._read_database()
        self._check_database(db)
        classes = self.classes_arg or self._classes_from_database(db)
        self._metainfo['classes'] = tuple(classes)
        class_index = {c: i for i, c in enumerate(classes)}

        if self.subset is not None:
            present = {e['subset'] for e in db.values()}
            missing = [s for s in self.subset if s not in present]
            if missing:
                raise ValueError(
                    f'{self.ann_file}: subset(s) {missing} not found; the '
                    f'file has {sorted(present)}.')

        missing_videos = self._read_missing_videos()
        skipped = 0
        data_list, feat_dims = [], {}
        for video, entry in db.items():
            if self.subset is not None and entry['subset'] not in self.subset:
                continue
            if video in missing_videos:
                skipped += 1
                continue
            anns = entry.get('annotations') or []
            segs, labels = [], []
            for a in anns:
                name = a.get('label', str(a.get('label_id')))
                if name not in class_index:
                    raise ValueError(
                        f'{self.ann_file}: video "{video}" has label '
                        f'"{name}", which is not in classes {tuple(classes)}.')
                segs.append(a['segment'])
                labels.append(class_index[name])
            fps = entry.get('fps')
            if fps is None:
                fps = self.default_fps
            feature_path = self._feature_path(video)
            dim = (self._feature_dim(video, feature_path)
                   if self.check_features else None)
            if dim is not None:
                feat_dims.setdefault(dim, (video, feature_path))
            if len(feat_dims) > 1:
                (v0, p0), (v1, p1) = list(feat_dims.values())[:2]
                d0, d1 = list(feat_dims)[:2]
                raise ValueError(
                    f'{p1} (video "{v1}"): {d1}-d features, but {p0} (video '
                    f'"{v0}") has {d0}-d; every video of a dataset needs the '
                    'same feature dim.')
            extra = {}
            if self.feature_layout != 'TC':
                extra['feature_layout'] = self.feature_layout
            if self.feature_key is not None:
                extra['feature_key'] = self.feature_key
            data_list.append(
                dict(**extra,
                     video_name=video,
                     feature_path=feature_path,
                     subset=entry['subset'],
                     duration=float(entry['duration']),
                     fps=float(fps),
                     feat_stride=self.feat_stride,
                     num_frames=self.num_frames,
                     gt_segments=np.asarray(segs,
                                            dtype=np.float32).reshape(-1, 2),
                     gt_labels=np.asarray(labels, dtype=np.int64)))
        if skipped:
            print_log(
                f'TALFeatureDataset: skipped {skipped} video(s) listed in '
                f'missing_videos_file {self.missing_videos_file} (no '
                'features)', logger='current', level=logging.WARNING)
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop videos without ground truth (training only)."""
        if self.test_mode or not self.filter_empty_gt:
            return self.data_list
        return [d for d in self.data_list if len(d['gt_labels']) > 0]

    def get_cat_ids(self, idx: int) -> List[int]:
        return sorted(set(self.get_data_info(idx)['gt_labels'].tolist()))
