r"""The embedded default dataset: semi-synthetic snippet features for TAL.

Real THUMOS14 I3D features cannot be downloaded here, so mmtal_zoom ships a
generator whose output has the structure that makes temporal action
localization hard, with marginal statistics calibrated to the two real I3D
feature files in ``../shared/data/real_i3d_samples``. Everything is
deterministic by ``seed``: dataset-level parameters come from
``SeedSequence([seed, 0])`` and each video from ``SeedSequence([seed, k,
crc32(video_name)])``, so a video's timings and features do not depend on
how many other videos are generated.

Generative model
================

Units: time ``t`` in seconds; ``g`` in feature-grid units (snippets), related
by :mod:`mmtal_zoom.structures.time_grid` (fps 30, ``feat_stride`` 4,
``num_frames`` 16 by default: 7.5 snippets/s like THUMOS14 I3D). A video of
``D`` s has ``T = floor((D * fps - num_frames) / feat_stride) + 1`` snippets.

1. Timings (parametric, the default). Per video:

   * duration ``D ~ U(duration_range)``;
   * its classes: one class, or with probability ``p_pair_video`` both
     classes of a confusable pair (THUMOS14: 15% of the videos have two
     classes, nearly always such a pair: CricketBowling/CricketShot,
     CliffDiving/Diving);
   * ``N = max(1, Poisson(lambda_v * D))`` instances with a per-video rate
     ``lambda_v = instance_rate * exp(N(0, 0.4^2))`` (THUMOS14: 0.073 / s);
   * lengths log-normal, ``log L ~ N(log 3.0, 0.83^2)`` clipped to
     ``[0.4 s, D / 3]`` (THUMOS14: median 3.0 s, 68% < 5 s, 94% < 10 s), at
     most 60% of the video covered (THUMOS14 mean coverage: 29%);
   * background gaps ``Dirichlet(1, ..., 1) * (D - sum L)``; each gap between
     two instances is, with probability 0.12, made nearly adjacent
     (``U(0, 0.4)`` s) and, with probability 0.08, an overlap of up to 40% of
     the shorter instance (THUMOS14: 11% adjacent, 9% overlapping).

   With ``timings=PATH`` the videos, durations, fps and instances are the
   real ones of a standard annotation file (e.g. THUMOS14: 20 classes); its
   ``Validation`` videos become ``train`` (``val_fraction`` of them, chosen by
   seed, become ``val``) and ``Test`` becomes ``test``; confusable pairs are
   the classes that co-occur in at least 3 videos.

2. Latent semantics, dimension ``r`` (``latent_dim``, 32, at most C / 2).
   Dataset level:
   a shared *actionness* vector ``a``, per class ``k`` a prototype
   ``p_k = sqrt(w_act) a + sqrt(w_pair) s_pair(k) + sqrt(1 - w_act - w_pair)
   g_k`` (``s_pair`` shared by the two classes of a confusable pair; ``w_pair
   = 0`` for unpaired classes), a progression direction ``q_k`` (an action
   looks different at its start and end) and a scene vector ``e_k``; all
   ``a, s, g, q, e ~ N(0, I_r)``.

   Per video, the latent sequence ``h_t`` (``(T, r)``) is the sum of

   * background: ``gamma_scene * mean_k e_k`` over the video's classes (the
     scene tells the sport), a video-specific ``gamma_video * N(0, I)`` and a
     slow AR(1) drift (``phi = 0.99``, std ``sigma_drift``);
   * actions: instance ``i`` of class ``y`` on ``[s_i, e_i]`` (grid units)
     contributes ``alpha_i * rho_i(g) * (p_y + beta (2 tau - 1) q_y + u_i)``
     with amplitude ``alpha_i ~ U(amp_range)``, instance variation ``u_i ~
     N(0, sigma_inst^2 I)``, relative position ``tau = clip((g - s_i) /
     (e_i - s_i), 0, 1)`` and the boundary ramps (Temporal Zoom, Gaussian
     boundary kernel) ``rho_i(g) = Phi((g - s_i) / kappa_s) * Phi((e_i - g)
     / kappa_e)``: a box blurred by a Gaussian of width ``kappa`` snippets at
     each boundary. Each boundary draws its own ``kappa``: sharp ``U(0.8, 2)``
     with probability 0.32, medium ``U(2, 4)`` with 0.40, gradual
     ``U(4, 6.2)`` with 0.28 (Temporal Zoom Fig. 4: range 0.8-6.2, 32 / 40 /
     28%). Short instances with gradual boundaries never reach full
     amplitude;
   * distractors (not annotated): ``Poisson(distractor_rate * D)`` bursts of
     log-normal length (median 1.5 s) whose pattern is ``eta p_k +
     sqrt(1 - eta^2) w``, ``eta ~ U(0.4, 0.75)``, ``k`` one of the video's
     classes with probability 0.7 (else any), ``w ~ N(0, I)``, with the same
     ramps and amplitudes as actions (e.g. a run-up without a jump);
   * noise: AR(1) in time, ``phi_latent``, stationary std ``sigma_latent``.

3. Observed features, ``C = feat_dim`` channels: ``z_t = W h_t / sqrt(r) +
   n_t`` with a fixed random mixing ``W ~ N(0, 1)`` (``(C, r)``: the
   features are low-rank plus noise like real ones) and channel noise ``n_t``
   AR(1) (``phi_channel``, std ``sigma_channel``); then, per channel ``c``,
   ``x_tc = a_c * max(0, exp(lam * (z_tc + b_c)) - theta)`` with ``a_c =
   scale * exp(N(0, 0.35^2))``, ``b_c ~ N(0, 0.3^2)``: non-negative with a
   few percent exact zeros (post-ReLU like I3D), right-skewed, channel means
   of different sizes. Constants are set so that mean, std, zero fraction
   and lag-1 autocorrelation match the real I3D samples (see
   :func:`feature_stats` and ``tools/analysis/linear_probe.py``).

Difficulty (judged on ``val`` with the linear probe, never on ``test``)
comes from the latent noise, the confusable pairs, the distractors, weak
instances (``amp_range``), blurred boundaries of short instances and the
per-video background shift. Re-measure both sides with::

    python tools/make_synthetic_dataset.py --out data/embedded \
        --compare-stats ../shared/data/real_i3d_samples   # real vs generated
    python tools/analysis/linear_probe.py data/embedded  # how hard (on val)
"""
import io
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...utils import atomic_write_bytes
# the timings, noise and per-video loop shared with .sparse live in .common;
# KAPPA_BINS, sample_kappa and num_snippets stay importable from here
from .common import (KAPPA_BINS, KAPPA_PROBS, FeatureGenerator, TimingModel,
                     _ramp, _rng, ar1, distractor_bursts,
                     generate_database_with, num_snippets, sample_kappa)

GENERATOR_VERSION = 1


@dataclass
class _LatentParameters:
    """The latent model's own parameters (see the module docstring)."""
    latent_dim: int = 32
    w_act: float = 0.3
    w_pair: float = 0.5
    pair_fraction: float = 0.6  # fraction of classes in confusable pairs
    beta: float = 0.5
    gamma_scene: float = 0.5
    gamma_video: float = 0.8
    sigma_drift: float = 0.4
    amp_range: Tuple[float, float] = (0.5, 1.1)
    sigma_inst: float = 0.4
    distractor_rate: float = 0.04  # bursts per second
    sigma_latent: float = 0.85
    phi_latent: float = 0.45
    sigma_channel: float = 0.5
    phi_channel: float = 0.2
    lam: float = 0.4
    theta: float = 0.35
    scale: float = 0.175


@dataclass
class FeatureModel(TimingModel, _LatentParameters):
    """Parameters of the generative model (see the module docstring): the
    latent model's, then the timings' (:class:`.common.TimingModel`).

    A dataclass takes its bases' fields from the last base to the first, so
    this order keeps the latent parameters first, as the generator record
    has always listed them.
    """


# ----------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------
def feature_stats(feats: Union[np.ndarray, Sequence[np.ndarray]]) -> dict:
    """Marginal statistics used for calibration: mean, std, fraction of
    exact zeros, quantiles, and the lag-1 temporal autocorrelation (per
    video: features centred per channel, pooled over channels; averaged over
    videos)."""
    if isinstance(feats, np.ndarray):
        feats = [feats]
    allv = np.concatenate([np.asarray(f, np.float64).ravel() for f in feats])
    acs = []
    for f in feats:
        f = np.asarray(f, np.float64)
        if f.shape[0] < 3:
            continue
        fc = f - f.mean(0)
        den = (fc**2).sum()
        if den > 0:
            acs.append(float((fc[1:] * fc[:-1]).sum() / den))
    q = np.quantile(allv, [0.25, 0.5, 0.75, 0.9, 0.99])
    return dict(mean=float(allv.mean()),
                std=float(allv.std()),
                zero_frac=float((allv == 0).mean()),
                q25=float(q[0]),
                median=float(q[1]),
                q75=float(q[2]),
                q90=float(q[3]),
                q99=float(q[4]),
                lag1_autocorr=float(np.mean(acs)) if acs else float('nan'))


# ----------------------------------------------------------------------
# features
# ----------------------------------------------------------------------
class _Prototypes:
    """Dataset-level parameters of the feature model."""

    def __init__(self, seed, num_classes, feat_dim, pairs, m: FeatureModel):
        rng = _rng(seed, 0)
        r = m.latent_dim
        self.act = rng.standard_normal(r)
        g = rng.standard_normal((num_classes, r))
        self.proto = np.empty((num_classes, r))
        paired = {c: p for p in pairs for c in p}
        shared = {p: rng.standard_normal(r) for p in pairs}
        for k in range(num_classes):
            if k in paired:
                self.proto[k] = (np.sqrt(m.w_act) * self.act +
                                 np.sqrt(m.w_pair) * shared[paired[k]] +
                                 np.sqrt(1 - m.w_act - m.w_pair) * g[k])
            else:
                self.proto[k] = (np.sqrt(m.w_act) * self.act +
                                 np.sqrt(1 - m.w_act) * g[k])
        self.prog = rng.standard_normal((num_classes, r))
        self.scene = rng.standard_normal((num_classes, r))
        self.W = rng.standard_normal((feat_dim, r)) / np.sqrt(r)
        self.a = m.scale * np.exp(0.35 * rng.standard_normal(feat_dim))
        self.b = 0.3 * rng.standard_normal(feat_dim)


def synthesize_features(rng: np.random.Generator, P: _Prototypes, T: int,
                        grid_insts: List[tuple], kappas: np.ndarray,
                        video_classes: List[int], duration: float,
                        grid_per_sec: float, m: FeatureModel) -> np.ndarray:
    """Features ``(T, C)`` float32 of one video.

    Args:
        grid_insts: ``[(s, e, label)]`` in grid units.
        kappas: ``(N, 2)`` boundary widths (snippets).
        video_classes: the classes of the video (scene, distractors).
        grid_per_sec: snippets per second (distractor lengths).
    """
    r = m.latent_dim
    K = P.proto.shape[0]
    g = np.arange(T, dtype=np.float64)
    h = np.zeros((T, r))
    # background: scene of the video's classes, video appearance, drift
    h += m.gamma_scene * P.scene[video_classes].mean(0)
    h += m.gamma_video * rng.standard_normal(r)
    h += ar1(rng, T, r, 0.99, m.sigma_drift)
    # actions
    for (s, e, y), (ks, ke) in zip(grid_insts, kappas):
        rho = _ramp(g, s, e, ks, ke)
        tau = np.clip((g - s) / max(e - s, 1e-6), 0, 1)
        pattern = (P.proto[y][None] + m.beta *
                   (2 * tau - 1)[:, None] * P.prog[y][None] +
                   m.sigma_inst * rng.standard_normal(r)[None])
        h += rng.uniform(*m.amp_range) * rho[:, None] * pattern
    # distractors: unannotated bursts that partly look like an action
    for k, ramp in distractor_bursts(rng, m.distractor_rate, duration, g,
                                     grid_per_sec, video_classes, K):
        eta = rng.uniform(0.4, 0.75)
        pattern = eta * P.proto[k] + np.sqrt(1 - eta**2) * \
            rng.standard_normal(r)
        h += rng.uniform(*m.amp_range) * ramp[:, None] * pattern[None]
    h += ar1(rng, T, r, m.phi_latent, m.sigma_latent)
    # observed channels
    z = h @ P.W.T
    z += ar1(rng, T, z.shape[1], m.phi_channel, m.sigma_channel)
    x = P.a * np.maximum(np.exp(m.lam * (z + P.b)) - m.theta, 0.0)
    return x.astype(np.float32)


# ----------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------
def _fit_latent_dim(model: FeatureModel, feat_dim: int) -> FeatureModel:
    """Keep the features low-rank plus noise for small ``feat_dim``."""
    if model.latent_dim > max(feat_dim // 2, 1):
        model = FeatureModel(
            **{
                **asdict(model), 'latent_dim': max(feat_dim // 2, 1)
            })
    return model


LATENT_GENERATOR = FeatureGenerator(name='synthetic',
                                    version=GENERATOR_VERSION,
                                    model_cls=FeatureModel,
                                    stream=2,
                                    dataset_params=_Prototypes,
                                    synthesize=synthesize_features,
                                    fit_model=_fit_latent_dim,
                                    records_timings=True)


def generate_synthetic_database(
        num_videos: Optional[Dict[str, int]] = None,
        num_classes: int = 10,
        **kwargs) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Generate timings and features (see the module docstring).

    Arguments (``model``: a :class:`FeatureModel` or its keyword arguments)
    and returns as :func:`.common.generate_database_with`.
    """
    return generate_database_with(LATENT_GENERATOR, num_videos, num_classes,
                                  **kwargs)


def write_tal_dataset(out_dir: str,
                      database: dict,
                      features: Dict[str, np.ndarray],
                      progress: bool = False) -> str:
    """Write ``out_dir/features/<video>.npy`` then ``out_dir/
    annotations.json`` (each atomically; the annotation file is written
    last, so its presence marks a complete dataset).

    Returns:
        str: the path of the annotation file.
    """
    missing = [v for v in database['database'] if v not in features]
    if missing:
        raise KeyError(f'no features for videos {missing[:5]}')
    feat_dir = osp.join(out_dir, 'features')
    os.makedirs(feat_dir, exist_ok=True)
    items = [(v, features[v]) for v in database['database']]
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc='writing features', unit='video')
    for v, f in items:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(f, np.float32))
        atomic_write_bytes(buf.getvalue(), osp.join(feat_dir, v + '.npy'))
    ann = osp.join(out_dir, 'annotations.json')
    atomic_write_bytes(json.dumps(database, indent=1).encode('utf-8'), ann)
    return ann


__all__ = [
    'FeatureModel', 'generate_synthetic_database',
    'write_tal_dataset', 'feature_stats',
    'sample_kappa', 'num_snippets', 'synthesize_features', 'KAPPA_BINS',
    'KAPPA_PROBS'
]
