"""Detections from class-agnostic proposals and an external video-level
classifier (CUHK-style score fusion).

ActivityNet-1.3 detection numbers of proposal methods (BMN, BSN, RCL) and of
class-agnostic detectors (TriDet, CLTDR-GMG, ActionFormer's ActivityNet
setting) are obtained by pairing every proposal of a video with the top-k
classes of a separate video classifier: the winning entry of the 2017
ActivityNet challenge (CUHK & ETHZ & SIAT) published its validation-set
video scores as a JSON file::

    {"results": {video_id: [p_0, ..., p_{C-1}], ...},
     "class": [name_0, ..., name_{C-1}]}

and the detection of proposal ``(s, e, q)`` for class ``c`` is
``(s, e, q * p_c)``. No NMS follows (the proposals are already
de-duplicated by their localizer).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmaction.registry import TASK_UTILS
from ...utils.annotations import label_ids_of_database
from ...utils.io import JSONInputError, load_json


class ClassifierFileError(ValueError):
    """The classifier file is unusable or lacks a video; the message names
    the file and the field or video."""


def _read_names(path: str) -> List[str]:
    """Class names, one per line (``#`` lines skipped)."""
    if not osp.isfile(path):
        raise ClassifierFileError(f'class list {path} does not exist.')
    with open(path, encoding='utf-8') as f:
        names = [ln.strip() for ln in f
                 if ln.strip() and not ln.startswith('#')]
    if not names or len(set(names)) != len(names):
        raise ClassifierFileError(f'class list {path} is empty or has '
                                  'duplicates.')
    return names


def classes_of_annotation_file(path: str) -> List[str]:
    """Class names of a standard annotation JSON in ``label_id`` order (the
    ids ``TALFeatureDataset`` gives them)."""
    try:
        db = load_json(path, 'annotation file').get('database')
    except (FileNotFoundError, JSONInputError, AttributeError) as exc:
        raise ClassifierFileError(f'{path}: not a standard annotation JSON '
                                  f'({exc}).') from None
    db = db or {}
    for vid, entry in db.items():
        for a in entry.get('annotations') or []:
            if a.get('label_id') is None or a.get('label') is None:
                raise ClassifierFileError(
                    f'{path}: video "{vid}" has an annotation without '
                    '"label" and "label_id".')
    try:
        ids = label_ids_of_database(db)
    except ValueError as exc:
        raise ClassifierFileError(f'{path}: {exc}') from None
    if sorted(ids.values()) != list(range(len(ids))) or not ids:
        raise ClassifierFileError(f'{path}: label_id values are not 0..C-1.')
    return sorted(ids, key=ids.get)  # ids are 0..C-1: the dataset's order


@TASK_UTILS.register_module()
class VideoClassifierFusion:
    """Turn a video's proposals into detections with video-level class
    scores from a file.

    Args:
        cls_file (str): the CUHK-style JSON (see the module docstring). Read
            on first use, so a config builds without it.
        topk (int): classes kept per video (2 in BMN's and TriDet's
            ActivityNet evaluation).
        classes (Sequence[str] | str, optional): class names in the label-id
            order of the evaluation: a list, a file with one name per line,
            or the evaluation's annotation ``.json`` (names ordered by its
            ``label_id``); every class of the file must be in it. Default: the
            file's classes sorted alphabetically, the ids that
            ``tools/convert_annotations.py`` gives ActivityNet-1.3 by
            default.
        max_per_video (int, optional): keep this many highest-scored
            detections per video; ``None`` keeps all ``K * topk``.

    A video is looked up under its name, then (ActivityNet ids) without or
    with the ``v_`` prefix; a video found under none of them is an error
    that names it and the file.
    """

    def __init__(self,
                 cls_file: str,
                 topk: int = 2,
                 classes: Optional[Union[Sequence[str], str]] = None,
                 max_per_video: Optional[int] = None) -> None:
        if int(topk) < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if max_per_video is not None and int(max_per_video) < 1:
            raise ValueError(f'max_per_video must be >= 1, got '
                             f'{max_per_video}')
        self.cls_file = cls_file
        self.topk = int(topk)
        self.max_per_video = max_per_video
        self._classes_arg = classes
        self._scores: Optional[Dict[str, np.ndarray]] = None
        self._class_names: Optional[List[str]] = None
        self._to_label: Optional[np.ndarray] = None  # file index -> label

    # -- the file ---------------------------------------------------------
    def _load(self) -> None:
        if self._scores is not None:
            return
        path = self.cls_file
        try:
            data = load_json(path, 'classifier file')
        except (FileNotFoundError, JSONInputError) as exc:
            raise ClassifierFileError(str(exc)) from None
        if not isinstance(data, dict):
            raise ClassifierFileError(f'{path}: expected an object with '
                                      '"results" and "class".')
        names = data.get('class')
        if not isinstance(names, list) or not names or not all(
                isinstance(n, str) for n in names):
            raise ClassifierFileError(f'{path}: "class" must be a non-empty '
                                      'list of class names.')
        results = data.get('results')
        if not isinstance(results, dict):
            raise ClassifierFileError(f'{path}: "results" must be an object '
                                      '{video: [score per class]}.')
        scores = {}
        for vid, vec in results.items():
            arr = np.asarray(vec, dtype=np.float64) if isinstance(
                vec, list) else None
            if arr is None or arr.shape != (len(names), ) or \
                    not np.isfinite(arr).all():
                raise ClassifierFileError(
                    f'{path}: "results" of video "{vid}" must be '
                    f'{len(names)} finite scores (one per "class").')
            scores[vid] = arr
        classes = self._classes_arg
        if classes is None:
            classes = sorted(names)
        elif isinstance(classes, str) and classes.endswith('.json'):
            classes = classes_of_annotation_file(classes)
        elif isinstance(classes, str):
            classes = _read_names(classes)
        classes = [str(c) for c in classes]
        index = {c: i for i, c in enumerate(classes)}
        unknown = [n for n in names if n not in index]
        if unknown:
            raise ClassifierFileError(
                f'{path}: "class" name(s) {unknown[:5]} are not in the '
                f'evaluation\'s class list ({len(classes)} classes).')
        self._class_names = classes
        self._to_label = np.array([index[n] for n in names], dtype=np.int64)
        self._scores = scores

    @property
    def class_names(self) -> List[str]:
        """Class names in label-id order."""
        self._load()
        return list(self._class_names)

    def label_of(self, name: str) -> int:
        """The label id of a class name."""
        names = self.class_names
        if name not in names:
            raise ClassifierFileError(
                f'class "{name}" is not in the class list of '
                f'{self.cls_file}\'s fusion ({len(names)} classes).')
        return names.index(name)

    def video_scores(self, video_name: str) -> np.ndarray:
        """``(C,)`` class scores of a video, in the file's class order."""
        self._load()
        name = str(video_name)
        keys = [name, name[2:] if name.startswith('v_') else 'v_' + name]
        for key in keys:
            if key in self._scores:
                return self._scores[key]
        raise ClassifierFileError(
            f'{self.cls_file}: no class scores for video "{name}" (looked '
            f'up as {keys} in "results").')

    # -- the fusion -------------------------------------------------------
    def __call__(self, video_name: str, segments: np.ndarray,
                 scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray,
                                              np.ndarray]:
        """Detections of one video.

        Args:
            video_name (str): the video.
            segments (np.ndarray): proposals ``(K, 2)``, seconds.
            scores (np.ndarray): proposal scores ``(K,)``.

        Returns:
            tuple: ``segments (K * k, 2)``, ``scores (K * k,)`` = proposal
            score x class score, ``labels (K * k,)`` (ids of
            :attr:`class_names`), sorted by score, highest first, then cut
            to ``max_per_video``.
        """
        cls = self.video_scores(video_name)
        segments = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(segments) != len(scores):
            raise ValueError(f'video "{video_name}": {len(segments)} '
                             f'segments but {len(scores)} scores')
        k = min(self.topk, len(cls))
        top = np.argsort(-cls, kind='stable')[:k]
        out_segs = np.repeat(segments, k, axis=0)
        out_scores = (scores[:, None] * cls[top][None, :]).reshape(-1)
        out_labels = np.tile(self._to_label[top], len(scores))
        order = np.argsort(-out_scores, kind='stable')
        if self.max_per_video is not None:
            order = order[:int(self.max_per_video)]
        return out_segs[order], out_scores[order], out_labels[order]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(cls_file={osp.basename(self.cls_file)}'
                f', topk={self.topk}, max_per_video={self.max_per_video})')
