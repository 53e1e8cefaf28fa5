"""A tiny localizer quickly trained on the two real I3D samples, shared by the
inference, infer-tool and ONNX tests (trained once per test process).

Not a test module: imported by ``tests/apis/test_inference.py``,
``tests/tools/test_infer.py`` and ``tests/tools/test_export_onnx.py``.
"""
import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import torch
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / 'shared' / 'data' / 'real_i3d_samples'
CLASSES = ('HighJump', 'TennisSwing')


def tiny_localizer_cfg(samples_dir=SAMPLES, in_channels: int = 2048,
                       embed_dims: int = 32) -> Config:
    """Baseline parts at toy size: 3 pyramid levels, 32 channels."""
    num_levels = 3
    ds = dict(type='TALFeatureDataset',
              ann_file=str(Path(samples_dir) / 'annotations.json'),
              data_prefix=dict(feature=str(samples_dir)), subset='Test',
              feat_stride=4, num_frames=16, default_fps=30.0)
    test_pipeline = [dict(type='LoadTALFeatures'), dict(type='PackTALInputs')]
    return Config(dict(
        default_scope='mmaction',
        custom_imports=dict(imports=['mmtal_zoom'],
                            allow_failed_imports=False),
        model=dict(
            type='TALDetector',
            data_preprocessor=dict(type='TALDataPreprocessor',
                                   max_seq_len=192,
                                   pad_size_divisor=2**(num_levels - 1)),
            backbone=dict(type='ConvProjection', in_channels=in_channels,
                          embed_dims=embed_dims, num_convs=2),
            neck=dict(type='TransformerPyramidNeck', in_channels=embed_dims,
                      num_levels=num_levels, num_stem=1, num_heads=4,
                      window_size=9, drop_path=0.0),
            head=dict(
                type='ActionFormerHead', num_classes=len(CLASSES),
                in_channels=embed_dims, feat_channels=embed_dims,
                prior_generator=dict(
                    type='PointGenerator1D', strides=[1, 2, 4],
                    regression_ranges=[(0, 8), (8, 32), (32, 10000)]),
                test_cfg=dict(nms=dict(method='gaussian', sigma=0.5,
                                       max_num=50)))),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(ds, pipeline=test_pipeline)),
        test_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(ds, test_mode=True, pipeline=test_pipeline)),
    ))


def train_tiny(cfg: Config, steps: int = 80, seed: int = 0):
    """A few AdamW steps on the training set through ``train_step`` (the
    model's own loss path). Returns the model in eval mode."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper

    from mmaction.registry import DATASETS, MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=2e-3))
    model.train()
    for _ in range(steps):
        model.train_step(batch, optim)
    return model.eval(), tuple(dataset.metainfo['classes'])


def save_runner_style_checkpoint(model, classes, path) -> str:
    """``{'state_dict', 'meta': {'dataset_meta': {'classes'}}}`` -- the
    fields of an mmengine runner checkpoint that inference reads."""
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=tuple(classes)))),
               str(path))
    return str(path)


@functools.lru_cache(maxsize=None)
def trained_tiny_localizer():
    """``(config_file, checkpoint_file)`` of the tiny model trained on the
    real samples; written once per process into a temporary folder."""
    out = Path(tempfile.mkdtemp(prefix='mmtal_tiny_localizer_'))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    cfg = tiny_localizer_cfg()
    model, classes = train_tiny(cfg)
    cfg_file = out / 'tiny_localizer.py'
    cfg.dump(str(cfg_file))
    ckpt = save_runner_style_checkpoint(model, classes, out / 'tiny.pth')
    return str(cfg_file), ckpt
