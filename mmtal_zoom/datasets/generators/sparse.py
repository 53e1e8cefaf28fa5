r"""A second, independent feature model: sparse class signals.

The benchmark family (:mod:`.family`) must differ from the embedded default
in what a model could have been tuned to, so that a result that holds on the
family is not a property of one generator. This model differs from the
dense low-rank latent model of :mod:`.synthetic` in how classes are written
into the features (our own design):

* **Sparse class signal.** Class ``k`` changes only a subset ``S_k`` of the
  ``C`` channels (``sparsity * C`` of them; 1/6 by default), by a
  per-channel amount (mostly increases, some decreases, log-normal sizes).
  A linear model must find those channels among many noisy ones.
* **Confusable pairs.** A fraction ``pair_fraction`` of the classes come in
  pairs whose supports and signals share ``pair_share`` of their channels:
  only the remaining channels tell the two apart.
* **Two phases.** Every class has an approach and an execution pattern on
  its support (they share ``1 - phase_split`` of it); an instance blends
  them with a sigmoid in its relative time ``tau``, centred at a random
  ``tau_0 ~ U(0.3, 0.7)``.
* **Boundary ramps** of mixed sharpness: the Gaussian-blurred box of
  :mod:`.synthetic` with the same ``kappa`` distribution (0.8-6.2 snippets).
* **Scene offset.** Every video adds its own dense offset
  ``scene_std * N(0, I)`` to all channels (camera, lighting, sport).
* **Distractors** (unannotated): low-amplitude (``distractor_amp`` times an
  instance's) segments whose pattern mixes two classes' signals.
* **Noise**: per-channel AR(1) in time with lag-1 correlation
  ``noise_rho`` and std ``noise_std``.

Observed features: ``x = max(0, base + scene + signal + noise)`` with a
per-channel base level ``base_c = base_mean * exp(N(0, 0.3^2))``: non-negative,
mean about 0.15 and a few percent exact zeros, like post-ReLU I3D features.

Timings come from :func:`.common._parametric_video` or from a real
annotation file (``timings=``; videos longer than ``max_duration`` are left
out), so the same timing options as the embedded default apply.
"""
from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .common import (FeatureGenerator, TimingModel, _ramp, _rng, ar1,
                     distractor_bursts, generate_database_with)
from .synthetic import FeatureModel

GENERATOR_VERSION = 1


@dataclass
class _SparseParameters:
    """The sparse model's own parameters (see the module docstring)."""
    sparsity: float = 1 / 6
    pair_fraction: float = 1.0
    pair_share: float = 0.7
    phase_split: float = 0.5
    signal_amp: float = 0.085  # mean |change| of a support channel
    amp_range: Tuple[float, float] = (0.6, 1.2)  # instance amplitude
    inst_jitter: float = 0.3  # per-instance multiplicative channel noise
    scene_std: float = 0.03
    noise_std: float = 0.10
    noise_rho: float = 0.55
    distractor_rate: float = 0.03  # per second
    distractor_amp: Tuple[float, float] = (0.25, 0.5)
    base_mean: float = 0.15
    negative_fraction: float = 0.2  # support channels that decrease


@dataclass
class SparseFeatureModel(TimingModel, _SparseParameters):
    """Parameters of the sparse model (see the module docstring): the sparse
    model's, then the timings' (:class:`.common.TimingModel`, as in
    :class:`.FeatureModel`; bases in this order keep the sparse parameters
    first in the generator record)."""

    def timing_model(self) -> FeatureModel:
        return FeatureModel(**{f.name: getattr(self, f.name)
                               for f in fields(TimingModel)})


class _SparseClasses:
    """Dataset-level parameters: per-class approach / execution signals
    ``(K, C)`` each, the base level ``(C,)``."""

    def __init__(self, seed: int, num_classes: int, feat_dim: int,
                 pairs: List[tuple], m: SparseFeatureModel):
        rng = _rng(seed, 10)
        C = feat_dim
        n_sup = max(2, int(round(m.sparsity * C)))

        def signal(size):
            sign = np.where(rng.random(size) < m.negative_fraction, -1.0, 1.0)
            return sign * m.signal_amp * rng.lognormal(0.0, 0.5, size) / \
                np.exp(0.125)  # mean |value| = signal_amp

        def pattern(support):
            """approach and execution patterns on ``support``."""
            a, b = np.zeros(C), np.zeros(C)
            common = rng.random(len(support)) >= m.phase_split
            va = signal(len(support))
            vb = np.where(common, va, signal(len(support)))
            a[support], b[support] = va, vb
            return a, b

        self.approach = np.zeros((num_classes, C))
        self.execution = np.zeros((num_classes, C))
        paired = {c: p for p in pairs for c in p}
        done = set()
        for k in range(num_classes):
            if k in done:
                continue
            if k in paired:
                ka, kb = paired[k]
                n_shared = int(round(m.pair_share * n_sup))
                perm = rng.permutation(C)
                shared = perm[:n_shared]
                own_a = perm[n_shared:n_sup]
                own_b = perm[n_sup:2 * n_sup - n_shared]
                sa, sb = pattern(shared)
                oa, ob = pattern(own_a)
                pa, pb = pattern(own_b)
                self.approach[ka], self.execution[ka] = sa + oa, sb + ob
                self.approach[kb], self.execution[kb] = sa + pa, sb + pb
                done.update((ka, kb))
            else:
                sup = rng.permutation(C)[:n_sup]
                self.approach[k], self.execution[k] = pattern(sup)
                done.add(k)
        self.base = m.base_mean * np.exp(0.3 * rng.standard_normal(C))


def synthesize_sparse_features(rng: np.random.Generator, P: _SparseClasses,
                               T: int, grid_insts: Sequence[tuple],
                               kappas: np.ndarray, video_classes: List[int],
                               duration: float, grid_per_sec: float,
                               m: SparseFeatureModel) -> np.ndarray:
    """Features ``(T, C)`` float32 of one video (``grid_insts``:
    ``[(s, e, label)]`` in grid units, ``kappas`` ``(N, 2)`` snippets)."""
    K, C = P.approach.shape
    g = np.arange(T, dtype=np.float64)
    x = np.broadcast_to(P.base, (T, C)).copy()
    x += m.scene_std * rng.standard_normal(C)
    for (s, e, y), (ks, ke) in zip(grid_insts, kappas):
        rho = _ramp(g, s, e, ks, ke)
        tau = np.clip((g - s) / max(e - s, 1e-6), 0, 1)
        w = 1.0 / (1.0 + np.exp(-(tau - rng.uniform(0.3, 0.7)) / 0.08))
        jitter = 1.0 + m.inst_jitter * rng.standard_normal(C)
        amp = rng.uniform(*m.amp_range)
        x += amp * rho[:, None] * jitter * (
            (1 - w)[:, None] * P.approach[y] + w[:, None] * P.execution[y])
    for a, ramp in distractor_bursts(rng, m.distractor_rate, duration, g,
                                     grid_per_sec, video_classes, K):
        b = int(rng.integers(K))
        mix = 0.5 * (P.approach[a] + P.execution[a] + P.approach[b] +
                     P.execution[b]) / 2
        x += rng.uniform(*m.distractor_amp) * ramp[:, None] * mix
    x += ar1(rng, T, C, m.noise_rho, m.noise_std)
    return np.maximum(x, 0.0).astype(np.float32)


def generate_sparse_database(
        num_videos: Optional[Dict[str, int]] = None,
        num_classes: int = 20,
        **kwargs) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Generate timings and sparse-model features.

    Arguments (``model``: a :class:`SparseFeatureModel` or its keyword
    arguments) as :func:`.common.generate_database_with`.

    Returns:
        tuple: ``database`` (standard annotation format with a ``generator``
        record) and ``features`` ``{video: float32 (T, C)}``.
    """
    return generate_database_with(SPARSE_GENERATOR, num_videos, num_classes,
                                  **kwargs)


def _complete_pairs(pairs: List[tuple], num_classes: int,
                    fraction: float) -> List[tuple]:
    """Add pairs of still unpaired classes until ``fraction`` of the classes
    are paired (real co-occurring pairs first)."""
    pairs = list(pairs)
    used = {c for p in pairs for c in p}
    free = [c for c in range(num_classes) if c not in used]
    target = int(round(fraction * num_classes / 2))
    while len(pairs) < target and len(free) >= 2:
        pairs.append((free.pop(0), free.pop(0)))
    return pairs


# with real timings, the co-occurring classes completed to the model's
# pair_fraction
SPARSE_GENERATOR = FeatureGenerator(
    name='sparse',
    version=GENERATOR_VERSION,
    model_cls=SparseFeatureModel,
    stream=12,
    dataset_params=_SparseClasses,
    synthesize=synthesize_sparse_features,
    timing_model=SparseFeatureModel.timing_model,
    complete_pairs=_complete_pairs)

__all__ = ['SparseFeatureModel', 'generate_sparse_database',
           'synthesize_sparse_features']
