"""The baseline configs build through the registry and run a forward pass on
random features of their input shape (the THUMOS14 I3D features themselves
cannot be downloaded here)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmaction.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


@pytest.mark.parametrize('name,in_channels,seq_len,num_levels,classes', [
    ('baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py', 256, 768, 6,
     10),
    ('baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py', 2048, 2304, 6, 20),
])
def test_baseline_config_builds_and_runs_forward(name, in_channels, seq_len,
                                                 num_levels, classes):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.custom_imports['imports'] == ['mmtal_zoom']
    model = MODELS.build(cfg.model).eval()
    x = torch.randn(1, in_channels, seq_len)
    with torch.no_grad():
        cls_logits, reg_offsets = model(x, mode='tensor')
    assert len(cls_logits) == num_levels
    assert cls_logits[0].shape == (1, classes, seq_len)
    assert reg_offsets[-1].shape == (1, 2, seq_len // 2**(num_levels - 1))


def test_thumos_config_is_actionformers_recipe():
    cfg = Config.fromfile(
        str(CONFIGS / 'baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py'))
    neck, head = cfg.model.neck, cfg.model.head
    assert (cfg.model.backbone.in_channels, cfg.model.backbone.embed_dims) \
        == (2048, 512)
    assert (neck.window_size, neck.num_heads, neck.num_stem,
            neck.num_levels) == (19, 4, 2, 6)
    assert cfg.model.data_preprocessor.max_seq_len == 2304
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_cfg.max_epochs == 35
    assert cfg.train_dataloader.batch_size == 2
    assert head.test_cfg.nms.method == 'gaussian'
    assert head.test_cfg.nms.sigma == 0.5
    assert cfg.train_dataloader.dataset.subset == 'Validation'
    assert cfg.test_dataloader.dataset.subset == 'Test'
