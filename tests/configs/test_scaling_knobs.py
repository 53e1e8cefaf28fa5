"""The scaling knobs of docs/tools.md: ``auto_scale_lr``
(``tools/train.py --auto-scale-lr``) in every config that trains, right when
a batch size changes, and the TensorBoard switch.

The rule (docs/tools.md, "Batch size, --auto-scale-lr, ..."): a config's
``auto_scale_lr.base_batch_size`` is the total batch its learning rate is
for, ``train_dataloader.batch_size`` (per GPU / process) x the GPUs the
config assumes. That is 1 unless the config says otherwise: in its model-zoo
name (``..._2xb8-...``: 2 GPUs) or, for a base or a deprecated name, in
:data:`ASSUMED_GPUS` (each entry cites where the config says so).
"""
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
ASSUMED_GPUS = {
    # the base comments: MMAction2's bmn_2xb8-400x100-9e_activitynet-feature.py
    '_base_/datasets/anet_bmn_feature.py': 2,
    # deprecated name of rcl/bmn-rcl_tsn-feat_2xb8-10e_activitynet.py
    'rcl/bmn_rcl_anet_tsn.py': 2,
}
ALL_CONFIGS = sorted(p.relative_to(CONFIGS).as_posix()
                     for p in CONFIGS.rglob('*.py'))


def assumed_gpus(rel_path):
    zoo_name = re.search(r'_(\d+)xb\d+', Path(rel_path).name)
    return int(zoo_name.group(1)) if zoo_name else ASSUMED_GPUS.get(
        rel_path, 1)


def test_assumed_gpus_name_existing_configs():
    assert set(ASSUMED_GPUS) <= set(ALL_CONFIGS)


@pytest.mark.parametrize('rel_path', ALL_CONFIGS)
def test_base_batch_size_is_batch_times_gpus(rel_path):
    cfg = Config.fromfile(str(CONFIGS / rel_path))
    if 'train_dataloader' not in cfg:
        return  # a model / schedule / runtime part, or not a training config
    assert 'auto_scale_lr' in cfg, f'{rel_path} trains but has no ' \
        'auto_scale_lr'
    assert cfg.auto_scale_lr.enable is False  # on only with --auto-scale-lr
    expected = cfg.train_dataloader.batch_size * assumed_gpus(rel_path)
    assert cfg.auto_scale_lr.base_batch_size == expected, (
        f'{rel_path}: train batch {cfg.train_dataloader.batch_size} x '
        f'{assumed_gpus(rel_path)} GPU(s) = {expected}, but auto_scale_lr.'
        f'base_batch_size = {cfg.auto_scale_lr.base_batch_size}')


def _train_tool():
    spec = importlib.util.spec_from_file_location('mmtal_zoom_train_tool',
                                                  REPO / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_cfg(tool, monkeypatch, argv):
    monkeypatch.setattr(sys, 'argv', ['train.py'] + [str(a) for a in argv])
    args = tool.parse_args()
    return tool.merge_args(Config.fromfile(args.config), args)


def test_auto_scale_lr_scales_the_optimizer_lr(tiny_baseline_config,
                                               tmp_path, monkeypatch):
    """mmengine's rule: lr x (world size x batch size) / base_batch_size,
    applied before the schedulers record their ``initial_lr``."""
    tool = _train_tool()
    cfg = _train_cfg(tool, monkeypatch, [
        tiny_baseline_config, '--auto-scale-lr', '--work-dir', tmp_path,
        '--cfg-options', 'train_dataloader.batch_size=8',
        'train_cfg.max_epochs=1', 'train_cfg.val_begin=2'])
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_batch = cfg.auto_scale_lr.base_batch_size
    assert cfg.auto_scale_lr.enable is True and base_batch != 8
    runner = Runner.from_cfg(cfg)
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    assert {g['initial_lr'] for g in groups} == {base_lr * 8 / base_batch}


def test_auto_scale_lr_needs_a_base_batch_size(tiny_baseline_config,
                                               tmp_path, monkeypatch):
    tool = _train_tool()
    with pytest.raises(SystemExit, match='needs auto_scale_lr = dict'):
        _train_cfg(tool, monkeypatch, [
            tiny_baseline_config, '--auto-scale-lr', '--work-dir', tmp_path,
            '--cfg-options', 'auto_scale_lr.base_batch_size=0'])


def test_tensorboard_switch_of_the_docs(tiny_baseline_config, tmp_path,
                                        monkeypatch):
    """docs/tools.md: ``--cfg-options visualizer.vis_backends.0.type=
    TensorboardVisBackend`` (the base runtime has one backend, the local
    one); the visualizer builds with it (tensorboard itself is only needed
    once it writes)."""
    from mmengine.visualization import TensorboardVisBackend

    from mmaction.registry import VISUALIZERS
    tool = _train_tool()
    cfg = _train_cfg(tool, monkeypatch, [
        tiny_baseline_config, '--work-dir', tmp_path, '--cfg-options',
        'visualizer.vis_backends.0.type=TensorboardVisBackend'])
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'TensorboardVisBackend']
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name='tb_switch_test', save_dir=str(tmp_path)))
    assert isinstance(visualizer.get_backend('TensorboardVisBackend'),
                      TensorboardVisBackend)
