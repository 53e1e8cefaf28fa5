"""What the two feature models (:mod:`.synthetic`, :mod:`.sparse`) share:
seeded random streams, the timings (parametric, or those of a real
annotation file), boundary sharpness ``kappa``, AR(1) noise, the blurred-box
ramp, and the per-video loop that turns timings into a database and
features (:func:`render_videos`), and the driver both generators run
(:func:`generate_database_with`)."""
import json
import os.path as osp
import zlib
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr

from ...structures.time_grid import seconds_to_grid

KAPPA_BINS = ((0.8, 2.0), (2.0, 4.0), (4.0, 6.2))
KAPPA_PROBS = (0.32, 0.40, 0.28)


@dataclass
class TimingModel:
    """The timing parameters both feature models share (when and how long
    the actions are); see :mod:`.synthetic`."""
    p_pair_video: float = 0.2
    """Probability that a video shows both classes of a confusable pair."""
    # how many instances: ``instance_rate`` per second (THUMOS14-style; per
    # video ``* exp(N(0, 0.4^2))``), or, when ``instances_per_video`` is set
    # (ActivityNet-style), ``1 + Poisson(n - 1)`` per video
    instance_rate: float = 0.08
    instances_per_video: Optional[float] = None
    # how long: log-normal, median ``length_median`` s and log-sd
    # ``length_sigma``, or, when ``relative_length`` is set (ActivityNet-
    # style), a log-normal fraction ``(median, sigma)`` of the video
    length_median: float = 3.0
    length_sigma: float = 0.83
    relative_length: Optional[Tuple[float, float]] = None
    max_coverage: float = 0.6
    """Largest share of a video that its instances cover."""
    p_adjacent: float = 0.12
    """Probability that a gap between two instances shrinks to < 0.4 s."""
    p_overlap: float = 0.08
    """Probability that two neighbouring instances overlap instead."""


def _rng(seed: int, stream: int, name: str = '') -> np.random.Generator:
    key = zlib.crc32(name.encode('utf-8')) if name else 0
    return np.random.default_rng(np.random.SeedSequence([seed, stream, key]))


def num_snippets(duration: float, fps: float, feat_stride: int,
                 num_frames: int) -> int:
    """Snippets of a video: one every ``feat_stride`` frames while a whole
    ``num_frames`` window fits (at least one)."""
    n = int(np.floor((duration * fps - num_frames) / feat_stride)) + 1
    return max(n, 1)


def sample_kappa(rng: np.random.Generator, size) -> np.ndarray:
    """Boundary sharpness in snippets: 32% U(0.8, 2), 40% U(2, 4), 28%
    U(4, 6.2) (Temporal Zoom, Fig. 4)."""
    which = rng.choice(3, size=size, p=KAPPA_PROBS)
    lo = np.array([b[0] for b in KAPPA_BINS])[which]
    hi = np.array([b[1] for b in KAPPA_BINS])[which]
    return lo + (hi - lo) * rng.random(size)


def ar1(rng: np.random.Generator, T: int, dim: int, phi: float,
        std: float) -> np.ndarray:
    """Stationary AR(1) noise ``(T, dim)`` with lag-1 autocorrelation
    ``phi`` and standard deviation ``std``."""
    w = rng.standard_normal((T, dim))
    if phi == 0:
        return std * w
    y0 = rng.standard_normal((1, dim))
    y = lfilter([np.sqrt(1 - phi**2)], [1.0, -phi], w, axis=0, zi=phi * y0)[0]
    return std * y


def _ramp(grid: np.ndarray, s: float, e: float, ks: float,
          ke: float) -> np.ndarray:
    return ndtr((grid - s) / ks) * ndtr((e - grid) / ke)


def distractor_bursts(rng: np.random.Generator, rate: float, duration: float,
                      grid: np.ndarray, grid_per_sec: float,
                      video_classes: List[int], num_classes: int):
    """Unannotated bursts that partly look like an action:
    ``Poisson(rate * duration)`` of them, about 1.5 s long; yields, per
    burst, the class it resembles (one of ``video_classes`` with probability
    0.7, else any) and its blurred-box ramp over ``grid`` ``(T,)``.

    It draws from ``rng`` one burst at a time, so the caller's own draws for
    a burst come between this burst's and the next one's.
    """
    T = len(grid)
    for _ in range(int(rng.poisson(rate * duration))):
        length = np.exp(np.log(1.5) + 0.5 * rng.standard_normal())
        length *= grid_per_sec
        s = rng.uniform(-0.5 * length, T - 0.5 * length)
        ks, ke = sample_kappa(rng, 2)
        k = (video_classes[rng.integers(len(video_classes))]
             if rng.random() < 0.7 else int(rng.integers(num_classes)))
        yield k, _ramp(grid, s, s + length, ks, ke)


def _confusable_pairs(num_classes: int, fraction: float) -> List[tuple]:
    n_pairs = int(round(fraction * num_classes / 2))
    return [(2 * i, 2 * i + 1) for i in range(n_pairs)]


def _parametric_video(rng: np.random.Generator, num_classes: int,
                      pairs: List[tuple], duration_range, m):
    """Durations and instances of one video: ``(D, [(s, e, label)])``."""
    D = float(np.round(rng.uniform(*duration_range), 2))
    if pairs and rng.random() < m.p_pair_video:
        classes = list(pairs[rng.integers(len(pairs))])
    else:
        classes = [int(rng.integers(num_classes))]
    if m.instances_per_video is not None:
        n = 1 + int(rng.poisson(max(m.instances_per_video - 1.0, 0.0)))
    else:
        rate = m.instance_rate * np.exp(0.4 * rng.standard_normal())
        n = max(1, int(rng.poisson(rate * D)))
    if m.relative_length is not None:
        median, sigma = m.relative_length
        frac = np.exp(np.log(median) + sigma * rng.standard_normal(n))
        lengths = np.clip(frac, 0.01, 0.95) * D
        lengths = np.maximum(lengths, 0.4)
    else:
        lengths = np.exp(np.log(m.length_median) +
                         m.length_sigma * rng.standard_normal(n))
        lengths = np.clip(lengths, 0.4, D / 3)
    while len(lengths) > 1 and lengths.sum() > m.max_coverage * D:
        lengths = lengths[:-1]
    n = len(lengths)
    gaps = rng.dirichlet(np.ones(n + 1)) * (D - lengths.sum())
    spare = 0.0
    for i in range(1, n):  # gaps between instances i-1 and i
        u = rng.random()
        if u < m.p_adjacent:
            new = rng.uniform(0, 0.4)
        elif u < m.p_adjacent + m.p_overlap:
            new = -rng.uniform(0.1, 0.4) * min(lengths[i - 1], lengths[i])
        else:
            continue
        spare += gaps[i] - new
        gaps[i] = new
    gaps[-1] += spare
    insts = []
    t = gaps[0]
    for i in range(n):
        s, e = t, min(t + lengths[i], D)
        t = e + gaps[i + 1]
        if e - s < 0.2:  # pushed past the end by the gap adjustments
            continue
        insts.append((float(np.round(s, 2)), float(np.round(e, 2)),
                      int(classes[rng.integers(len(classes))])))
    return D, insts


def _annotation(s, e, label_id, classes, fps, kappa):
    return dict(
        label=classes[label_id],
        segment=[s, e],
        **{'segment(frames)': [round(s * fps, 1),
                               round(e * fps, 1)]},
        label_id=int(label_id),
        boundary_kappa=[round(float(kappa[0]), 3),
                        round(float(kappa[1]), 3)])


def _limit(names: List[str], n: Optional[int]) -> List[str]:
    return names if n is None else names[:n]


def _real_timings(path: str, seed: int, val_fraction: float,
                  num_videos: Optional[Dict[str, int]],
                  max_duration: Optional[float] = None):
    """Videos of a real annotation file: ``(classes, pairs, videos)``;
    videos longer than ``max_duration`` s are left out before ``num_videos``
    takes the first ones of each subset."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'timings file {path} does not exist.')
    with open(path, 'r', encoding='utf-8') as f:
        db = json.load(f)
    if not isinstance(db, dict) or not isinstance(db.get('database'), dict):
        raise ValueError(f'{path}: expected a "database" object (standard '
                         'TAL annotation format).')
    db = db['database']
    id_of = {}
    for v, e in db.items():
        for a in e.get('annotations', []):
            if 'label' not in a or 'segment' not in a:
                raise ValueError(f'{path}: database["{v}"] has an annotation '
                                 'without "label" or "segment".')
            id_of.setdefault(a['label'], a.get('label_id', 10**9))
    classes = sorted(id_of, key=lambda c: (id_of[c], c))
    cidx = {c: i for i, c in enumerate(classes)}
    # confusable pairs: classes that co-occur in >= 3 videos, greedily
    co: Dict[tuple, int] = {}
    for e in db.values():
        cs = sorted({cidx[a['label']] for a in e.get('annotations', [])})
        for i in range(len(cs)):
            for j in range(i + 1, len(cs)):
                co[(cs[i], cs[j])] = co.get((cs[i], cs[j]), 0) + 1
    pairs, used = [], set()
    for (a, b), cnt in sorted(co.items(), key=lambda kv: -kv[1]):
        if cnt >= 3 and a not in used and b not in used:
            pairs.append((a, b))
            used.update((a, b))
    # subsets
    mapping = {
        'validation': 'train',
        'test': 'test',
        'train': 'train',
        'training': 'train',
        'val': 'val'
    }
    by_subset: Dict[str, List[str]] = {}
    for v in sorted(db):
        if max_duration is not None and float(
                db[v].get('duration', 0)) > max_duration:
            continue
        sub = mapping.get(
            str(db[v].get('subset', '')).lower(),
            str(db[v].get('subset', 'train')).lower())
        by_subset.setdefault(sub, []).append(v)
    if val_fraction > 0 and 'train' in by_subset:
        names = by_subset['train']
        order = _rng(seed, 3).permutation(len(names))
        n_val = int(round(val_fraction * len(names)))
        val = sorted(names[i] for i in order[:n_val])
        by_subset['val'] = sorted(set(by_subset.get('val', [])) | set(val))
        by_subset['train'] = sorted(set(names) - set(val))
    videos = []
    for sub in sorted(by_subset):
        n = None if num_videos is None else num_videos.get(sub, 0)
        for v in _limit(by_subset[sub], n):
            e = db[v]
            insts = [(float(a['segment'][0]), float(a['segment'][1]),
                      cidx[a['label']]) for a in e.get('annotations', [])]
            videos.append(
                (v, sub, float(e['duration']), float(e.get('fps',
                                                           30.0)), insts))
    return classes, pairs, videos


def parametric_timings(num_videos: Optional[Dict[str, int]],
                       num_classes: int, pair_fraction: float, seed: int,
                       duration_range: Tuple[float, float], fps: float,
                       timing_model) -> Tuple[List[str], List[tuple], list]:
    """Parametric timings: ``(classes, pairs, videos)`` with ``videos`` a
    list of ``(name, subset, duration, fps, [(s, e, label)])``;
    ``timing_model`` is a :class:`.FeatureModel` (its timing fields)."""
    if num_videos is None:
        num_videos = dict(train=150, val=50, test=50)
    width = max(4, len(str(max(num_videos.values(), default=1))))
    classes = [f'action{k:02d}' for k in range(num_classes)]
    pairs = _confusable_pairs(num_classes, pair_fraction)
    videos = []
    for sub, n in num_videos.items():
        for i in range(n):
            name = f'video_{sub}_{i:0{width}d}'
            D, insts = _parametric_video(_rng(seed, 1, name), num_classes,
                                         pairs, duration_range, timing_model)
            videos.append((name, sub, D, fps, insts))
    return classes, pairs, videos


def render_videos(videos: list, classes: List[str], num_classes: int,
                  seed: int, stream: int, feat_stride: int, num_frames: int,
                  synthesize: Callable, progress: bool = False
                  ) -> Tuple[dict, Dict[str, np.ndarray]]:
    """The ``database`` entries and features of ``videos`` (as returned by
    :func:`parametric_timings` / :func:`_real_timings`). Per video, from the
    stream ``_rng(seed, stream, name)``: boundary sharpness, the instances in
    grid units, then ``synthesize(rng, T, grid_insts, kappas, vclasses,
    duration, snippets_per_second)`` for its ``(T, C)`` features."""
    database, features = {}, {}
    it = videos
    if progress:
        from tqdm import tqdm
        it = tqdm(videos, desc='generating videos', unit='video')
    for name, sub, D, vfps, insts in it:
        rng = _rng(seed, stream, name)
        T = num_snippets(D, vfps, feat_stride, num_frames)
        kappas = sample_kappa(rng, (len(insts), 2))
        grid_insts = [(float(seconds_to_grid(s, vfps, feat_stride,
                                             num_frames)),
                       float(seconds_to_grid(e, vfps, feat_stride,
                                             num_frames)), y)
                      for s, e, y in insts]
        vclasses = sorted({y for _, _, y in insts}) or [
            int(rng.integers(num_classes))]
        features[name] = synthesize(rng, T, grid_insts, kappas, vclasses, D,
                                    vfps / feat_stride)
        database[name] = dict(
            subset=sub, duration=D, fps=vfps,
            annotations=[_annotation(s, e, y, classes, vfps, k)
                         for (s, e, y), k in zip(insts, kappas)])
    return database, features


def _model_as_is(model, *args):
    return model


def _pairs_as_is(pairs, *args):
    return pairs


@dataclass(frozen=True)
class FeatureGenerator:
    """What a feature model brings to :func:`generate_database_with`."""

    name: str  # the generator record's name, 'mmtal_zoom.<name>'
    version: int
    model_cls: type  # the model's parameters (a dataclass)
    stream: int  # the random stream of its per-video features
    # (seed, num_classes, feat_dim, pairs, model) -> the dataset-level
    # parameters P (class signals, prototypes)
    dataset_params: Callable
    # (rng, P, T, grid_insts, kappas, vclasses, duration,
    # snippets_per_second, model) -> one video's (T, C) features
    synthesize: Callable
    # (model, feat_dim) -> the model fitted to the requested width
    fit_model: Callable = _model_as_is
    # model -> the FeatureModel whose timing fields draw parametric videos
    timing_model: Callable = _model_as_is
    # (pairs, num_classes, pair_fraction) -> the confusable pairs of real
    # timings (their co-occurring classes)
    complete_pairs: Callable = _pairs_as_is
    # whether the generator record names the timings file
    records_timings: bool = False


def generate_database_with(
        generator: FeatureGenerator,
        num_videos: Optional[Dict[str, int]] = None,
        num_classes: int = 10,
        feat_dim: int = 256,
        seed: int = 0,
        timings: Optional[str] = None,
        max_duration: Optional[float] = None,
        duration_range: Tuple[float, float] = (30.0, 120.0),
        fps: float = 30.0,
        feat_stride: int = 4,
        num_frames: int = 16,
        val_fraction: float = 0.0,
        model: Optional[Union[Any, dict]] = None,
        progress: bool = False) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Generate timings and the features of ``generator``'s model.

    Args:
        generator (FeatureGenerator): which feature model.
        num_videos (dict, optional): videos per subset, e.g.
            ``dict(train=150, val=50, test=50)`` (the default). With
            ``timings``: the maximum per subset (first ones by name; a
            subset not named gets none; ``None`` = all).
        num_classes (int): classes (parametric timings only).
        feat_dim (int): feature channels ``C``.
        seed (int): everything is deterministic given the seed.
        timings (str, optional): a standard annotation file whose real videos,
            durations, fps and instances are used (``Validation`` -> ``train``,
            ``Test`` -> ``test``).
        max_duration (float, optional): with ``timings``, leave out the
            videos longer than this (s).
        duration_range (tuple): video durations in seconds (parametric).
        fps, feat_stride, num_frames: the feature grid (fps of the timings
            file wins when given there).
        val_fraction (float): with ``timings``, the fraction of training
            videos (chosen by seed) moved to ``val``.
        model (dataclass | dict, optional): generative parameters, a
            ``generator.model_cls`` or its keyword arguments.
        progress (bool): show a tqdm progress bar.

    Returns:
        tuple: ``database`` (the standard annotation format, plus
        ``boundary_kappa`` per annotation and a ``generator`` record) and
        ``features`` ``{video: float32 (T, C)}``.
    """
    if model is None:
        model = generator.model_cls()
    elif isinstance(model, dict):
        model = generator.model_cls(**model)
    model = generator.fit_model(model, feat_dim)
    if timings is not None:
        classes, pairs, videos = _real_timings(timings, seed, val_fraction,
                                               num_videos, max_duration)
        num_classes = len(classes)
        pairs = generator.complete_pairs(pairs, num_classes,
                                         model.pair_fraction)
    else:
        classes, pairs, videos = parametric_timings(
            num_videos, num_classes, model.pair_fraction, seed,
            duration_range, fps, generator.timing_model(model))
    P = generator.dataset_params(seed, num_classes, feat_dim, pairs, model)

    def synthesize(rng, T, grid_insts, kappas, vclasses, D, rate):
        return generator.synthesize(rng, P, T, grid_insts, kappas, vclasses,
                                    D, rate, model)

    database, features = render_videos(videos, classes, num_classes, seed,
                                       generator.stream, feat_stride,
                                       num_frames, synthesize, progress)
    meta = dict(name=f'mmtal_zoom.{generator.name}',
                version=generator.version,
                seed=seed)
    if generator.records_timings:
        meta['timings'] = None if timings is None else osp.basename(timings)
    meta.update(num_classes=num_classes,
                feat_dim=feat_dim,
                feat_stride=feat_stride,
                num_frames=num_frames,
                confusable_pairs=[[classes[a], classes[b]]
                                  for a, b in pairs],
                model=asdict(model))
    return dict(version=f'mmtal_zoom-{generator.name}-v{generator.version}',
                generator=meta,
                database=database), features
