"""The four CPU detector configs (and the configs built on them) read each
video's features standardised, in every split, so that the compared models
see the same inputs; the real-data configs keep ActionFormer's pipeline."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from mmaction.registry import TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

CPU_DETECTORS = [
    'baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
    'baseline/baseline_embedded.py',
    'cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py',
    'cltdr_gmg/cltdr_gmg_embedded.py',
    'zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
    'zoom/zoom_atr_embedded.py',
    'rcl/actionformer-rcl_synthetic-feat_1xb2-30e_embedded.py',
]
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@pytest.mark.parametrize('name', CPU_DETECTORS)
def test_cpu_detector_configs_standardize_every_split(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    for loader in LOADERS:
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        # right after loading, before the crop (so a training crop is
        # scaled like the whole video it came from at test time)
        assert types[:2] == ['LoadTALFeatures', 'StandardizeFeatures'], (
            name, loader, types)
        assert types.count('StandardizeFeatures') == 1, (name, loader)
        step = cfg[loader].dataset.pipeline[1]
        assert tuple(step['keys']) == ('inputs', ), (name, loader, step)


@pytest.mark.parametrize('name', [
    'baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py',
    'baseline/baseline_thumos14_i3d.py',
    'cltdr_gmg/cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py',
])
def test_real_data_configs_keep_actionformers_pipeline(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    for loader in LOADERS:
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        assert 'StandardizeFeatures' not in types, (name, loader)


def test_the_config_step_standardizes_a_loaded_video():
    """The step as the configs write it acts on ``LoadTALFeatures``' key:
    one mean and one scale for the whole ``(C, T)`` array."""
    cfg = Config.fromfile(str(CONFIGS / CPU_DETECTORS[0]))
    step = TRANSFORMS.build(cfg.test_dataloader.dataset.pipeline[1])
    rng = np.random.default_rng(0)
    x = (0.16 + 0.1 * rng.random((256, 50))).astype(np.float32)
    x[3] += 0.5  # a channel offset survives, relative to the others
    out = step.transform(dict(inputs=x.copy(), video_name='v'))['inputs']
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(float(out.mean())) < 1e-4
    assert abs(float(out.std()) - 1.0) < 1e-3
    gap = out[3].mean() - out[4].mean()
    assert gap == pytest.approx((x[3].mean() - x[4].mean()) / x.std(),
                                rel=1e-3)
