"""The benchmark family: presets of both generators, and writing them.

A method is better only if it is better across datasets that differ in what
a model could overfit. The family varies, one preset at a time, the things a
config could have been tuned to on the embedded default (``'default'``):

==================  ========  =====  =======  ===============================
preset              features  dims   classes  what differs
==================  ========  =====  =======  ===============================
``default``         latent    256    10       the embedded default (``make
                                              demo``); configs were first
                                              tuned on it
``thumos-sparse``   sparse    256    20       real THUMOS14 timings (videos
                                              <= 240 s, 24-30 fps), sparse
                                              class signal in 1/6 of the
                                              channels, every class in a
                                              confusable pair, AR(1) 0.55
``thumos-latent``   latent    256    20       the default's feature model on
                                              real THUMOS14 timings
``long-1024``       sparse    1024   12       60-240 s videos, 1/10 sparse,
                                              strongly correlated noise (0.75)
``short-2048``      sparse    2048   16       I3D width, short dense
                                              instances (median 2 s), 1/4
                                              sparse, weak signal, white-ish
                                              noise (0.3), many distractors
``many-classes``    latent    512    40       40 classes with few instances
                                              each, slow noise (0.8)
``anet-style``      sparse    400    20       ActivityNet-like timings: 200
                                              training videos of 30-240 s,
                                              1.5 instances per video, a
                                              quarter shorter than 10 % of
                                              their video; 16-frame stride
==================  ========  =====  =======  ===============================

Every preset is CPU-sized (tens of training videos) and has ``train`` /
``val`` / ``test`` subsets; models are selected on ``val`` and reported on
``test``. ``tiny`` is for the test suite. Generate one with::

    python tools/make_synthetic_dataset.py --preset thumos-sparse \\
        --out data/family/thumos-sparse
"""
import copy
import json
import os
import os.path as osp
from dataclasses import asdict
from typing import Dict, Optional, Tuple

from .sparse import SparseFeatureModel, generate_sparse_database
from .synthetic import (FeatureModel, generate_synthetic_database,
                        write_tal_dataset)

THUMOS14_TIMINGS = osp.join(
    osp.dirname(__file__), '..', '..', '..', '..', 'shared', 'data',
    'thumos14', 'thumos14.json')


def _parametric(generator: str, videos: Tuple[int, int, int],
                num_classes: int, feat_dim: int,
                duration_range: Tuple[float, float], **extra) -> dict:
    """A preset with parametric timings: ``videos`` = (train, val, test)
    counts; ``extra``: more generator arguments (``model``, ...)."""
    train, val, test = videos
    return dict(generator=generator,
                num_videos=dict(train=train, val=val, test=test),
                num_classes=num_classes,
                feat_dim=feat_dim,
                duration_range=duration_range,
                **extra)


def _thumos_timings(generator: str) -> dict:
    """A preset on the real THUMOS14 timings (videos <= 240 s)."""
    return dict(generator=generator,
                timings='thumos14',
                max_duration=240.0,
                val_fraction=0.2,
                num_videos=dict(train=80, val=20, test=60),
                feat_dim=256)


PRESETS: Dict[str, dict] = {
    # The embedded benchmark: a CPU-sized baseline trains and evaluates on it
    # in minutes.
    'default':
    _parametric('latent', (150, 50, 50), num_classes=10, feat_dim=256,
                duration_range=(30.0, 120.0)),
    # For tests: generated in well under a second; an easier model (less
    # noise, no distractors, more instances) so that a model can fit its
    # 12 training videos within a few iterations.
    'tiny':
    _parametric('latent', (12, 4, 4), num_classes=4, feat_dim=32,
                duration_range=(10.0, 24.0),
                model=dict(sigma_latent=0.4,
                           distractor_rate=0.0,
                           instance_rate=0.15,
                           gamma_video=0.3,
                           sigma_drift=0.2,
                           sigma_inst=0.2)),
    'thumos-sparse': _thumos_timings('sparse'),
    'thumos-latent': _thumos_timings('latent'),
    'long-1024':
    _parametric('sparse', (60, 20, 40), num_classes=12, feat_dim=1024,
                duration_range=(60.0, 240.0),
                model=dict(sparsity=0.1, pair_fraction=0.5, noise_rho=0.75,
                           noise_std=0.09, signal_amp=0.1, instance_rate=0.06,
                           length_median=4.0, distractor_rate=0.02)),
    'short-2048':
    _parametric('sparse', (60, 20, 40), num_classes=16, feat_dim=2048,
                duration_range=(30.0, 150.0),
                model=dict(sparsity=0.25, pair_fraction=0.75, noise_rho=0.3,
                           noise_std=0.12, signal_amp=0.06, instance_rate=0.12,
                           length_median=2.0, length_sigma=0.7,
                           distractor_rate=0.08)),
    'many-classes':
    _parametric('latent', (120, 30, 60), num_classes=40, feat_dim=512,
                duration_range=(30.0, 120.0),
                model=dict(phi_latent=0.8, distractor_rate=0.06,
                           pair_fraction=0.8)),
    'anet-style':
    _parametric('sparse', (200, 50, 100), num_classes=20, feat_dim=400,
                duration_range=(30.0, 240.0),
                feat_stride=16,
                model=dict(instances_per_video=1.5,
                           relative_length=(0.22, 1.1), max_coverage=0.95,
                           p_adjacent=0.05, p_overlap=0.02, p_pair_video=0.1,
                           distractor_rate=0.01)),
}

# the presets a claim of "better" is checked on (``tiny`` is for tests)
FAMILY = ('default', 'thumos-sparse', 'thumos-latent', 'long-1024',
          'short-2048', 'many-classes', 'anet-style')

GENERATORS = dict(latent=(generate_synthetic_database, FeatureModel),
                  sparse=(generate_sparse_database, SparseFeatureModel))


def preset_kwargs(preset: str, timings: Optional[str] = None) -> dict:
    """The generator keyword arguments of a preset (a copy), with
    ``generator`` naming which generator takes them; ``timings`` (a real
    annotation file) replaces the preset's own."""
    if preset not in PRESETS:
        raise ValueError(f'unknown preset {preset!r}; choose one of '
                         f'{sorted(PRESETS)}')
    kwargs = copy.deepcopy(PRESETS[preset])
    if timings is not None:
        kwargs['timings'] = timings
    elif kwargs.get('timings') == 'thumos14':
        kwargs['timings'] = osp.normpath(THUMOS14_TIMINGS)
        if not osp.isfile(kwargs['timings']):
            raise FileNotFoundError(
                f'preset {preset!r} takes its timings from the real THUMOS14 '
                f'annotations, expected at {kwargs["timings"]} (the '
                'repository\'s ../shared/data); pass timings=PATH.')
    return kwargs


def generate_database(generator: str = 'latent', **kwargs):
    """Run the named generator (``'latent'`` or ``'sparse'``)."""
    if generator not in GENERATORS:
        raise ValueError(f'unknown generator {generator!r}; choose one of '
                         f'{sorted(GENERATORS)}')
    return GENERATORS[generator][0](**kwargs)


def _fingerprint(kwargs: dict) -> dict:
    """What the output depends on besides the user's request: the generator
    version and the resolved model parameters."""
    from .sparse import GENERATOR_VERSION as SPARSE_VERSION
    from .synthetic import GENERATOR_VERSION as LATENT_VERSION
    generator = kwargs.get('generator', 'latent')
    model_cls = GENERATORS[generator][1]
    model = kwargs.get('model') or {}
    if not isinstance(model, dict):
        model = asdict(model)
    version = dict(latent=LATENT_VERSION, sparse=SPARSE_VERSION)[generator]
    rest = {k: v for k, v in kwargs.items() if k != 'model'}
    return json.loads(
        json.dumps(dict(version=version,
                        model=asdict(model_cls(**model)),
                        kwargs=rest),
                   sort_keys=True,
                   default=str))


def make_embedded_dataset(out_dir: str,
                          preset: str = 'default',
                          seed: int = 0,
                          timings: Optional[str] = None,
                          force: bool = False,
                          progress: bool = False,
                          **overrides) -> str:
    """Generate a preset and write it to ``out_dir``.

    If ``out_dir`` already holds a dataset generated with the same request
    (preset, seed, timings, overrides), it is kept when it is complete and
    was made by the same generator version and model, and regenerated
    otherwise. A dataset made with another request, or an annotation file
    this generator did not write, is never overwritten without ``force``.

    Args:
        out_dir (str): folder for ``annotations.json`` and ``features/``.
        preset (str): a key of :data:`PRESETS` (``'default'``: the embedded
            benchmark; ``'tiny'``: for tests; the others: the family).
        seed (int): generator seed.
        timings (str, optional): real annotation file for the timings
            (overrides the preset's).
        force (bool): regenerate even if present; features of videos that
            are no longer in the dataset are removed.
        progress (bool): tqdm progress bars.
        **overrides: any argument of the preset's generator.

    Returns:
        str: the path of ``annotations.json``.
    """
    kwargs = preset_kwargs(preset, timings)
    kwargs.update(overrides)
    kwargs['seed'] = seed
    ann = osp.join(out_dir, 'annotations.json')
    feat_dir = osp.join(out_dir, 'features')
    request = dict(preset=preset,
                   seed=seed,
                   timings=None if timings is None else osp.abspath(timings),
                   overrides={
                       k: v
                       for k, v in sorted(overrides.items())
                   })
    request = json.loads(json.dumps(request, default=str))  # tuples -> lists
    fingerprint = _fingerprint(
        {k: (osp.basename(v) if k == 'timings' and v else v)
         for k, v in kwargs.items()})
    regenerate = force
    if osp.isfile(ann) and not force:
        try:
            with open(ann, 'r', encoding='utf-8') as f:
                old = json.load(f)
            gen = old.get('generator', {})
        except (OSError, ValueError):
            old, gen = None, {}
        if gen.get('request') != request:
            raise FileExistsError(
                f'{ann} exists but was not generated with these settings '
                f'(found {gen.get("request")}, requested {request}); use '
                'force=True (--force) to overwrite it.')
        complete = all(
            osp.isfile(osp.join(feat_dir, v + '.npy'))
            for v in old.get('database', {}))
        if complete and gen.get('fingerprint') == fingerprint:
            return ann
        regenerate = True  # stale or incomplete output of this generator
    database, features = generate_database(progress=progress, **kwargs)
    database['generator']['preset'] = preset
    database['generator']['request'] = request
    database['generator']['fingerprint'] = fingerprint
    if regenerate and osp.isdir(feat_dir):
        for fn in os.listdir(feat_dir):
            if fn.endswith('.npy') and fn[:-4] not in features:
                os.remove(osp.join(feat_dir, fn))
    return write_tal_dataset(out_dir, database, features, progress=progress)


__all__ = ['PRESETS', 'FAMILY', 'preset_kwargs', 'generate_database',
           'make_embedded_dataset']
