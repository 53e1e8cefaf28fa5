"""The RCL configs on THUMOS14 build, follow the paper where they say so,
and train and predict end to end on the two real I3D samples; the CPU
ActivityNet-format configs standardise their features."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmaction.registry import DATASETS, MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
THUMOS_RCL = CONFIGS / 'rcl' / 'actionformer-rcl_i3d-feat_1xb2-35e_thumos14.py'


def test_thumos14_rcl_is_the_papers_rcl_on_actionformers_recipe():
    cfg = Config.fromfile(str(THUMOS_RCL))
    base = Config.fromfile(str(
        CONFIGS / 'baseline' / 'actionformer_i3d-feat_1xb2-35e_thumos14.py'))
    # the first stage and the schedule are ActionFormer's THUMOS14 recipe
    for key in ('backbone', 'neck', 'head', 'data_preprocessor'):
        assert cfg.model[key] == base.model[key], key
    assert cfg.optim_wrapper == base.optim_wrapper
    assert cfg.train_cfg == base.train_cfg
    assert cfg.train_dataloader.dataset.subset == 'Validation'
    assert cfg.test_dataloader.dataset.subset == 'Test'
    model = MODELS.build(cfg.model)
    refiner = model.roi_head.refiner
    assert refiner.refine.num_iters == 10  # M = 10
    assert refiner.stage_loss_cfg['loss_weight_reg'] == 10.0  # lambda_1
    assert refiner.stage_loss_cfg['loss_weight_offset'] == 1.0  # lambda_2
    assert refiner.stage_decay == 0.8  # alpha
    assert refiner.stage_loss_cfg['pos_iou_thr'] == 0.7  # tau
    assert cfg.model.head.test_cfg.nms.max_num == 200  # top-200 (THUMOS14)


def test_thumos14_rcl_trains_and_predicts_on_real_i3d_features(shared_data):
    samples = shared_data / 'real_i3d_samples'
    cfg = Config.fromfile(str(THUMOS_RCL))
    ds = dict(cfg.test_dataloader.dataset,
              ann_file=str(samples / 'annotations.json'),
              data_prefix=dict(feature=str(samples)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                ann_file=ds['ann_file'],
                                data_prefix=ds['data_prefix'], subset='Test'))
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    data = model.data_preprocessor(
        pseudo_collate([train[i] for i in range(len(train))]), training=True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_reg', 'loss_rcl_cls', 'loss_rcl_reg',
            'loss_rcl_offset'} <= set(losses)
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    optim.step()

    test = DATASETS.build(ds)
    model.eval()
    data = model.data_preprocessor(
        pseudo_collate([test[i] for i in range(len(test))]), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert len(out) == 2
    for sample in out:
        pred = sample.pred_instances
        assert 0 < len(pred.scores) <= 200
        assert pred.segments.min() >= 0
        assert pred.segments.max() <= sample.metainfo['duration'] + 1e-6
        assert torch.all(pred.scores[:-1] >= pred.scores[1:])


def test_thumos14_bmn_window_configs_follow_the_paper():
    rcl = Config.fromfile(str(
        CONFIGS / 'rcl' / 'bmn-rcl_i3d-feat_1xb16-10e_thumos14-window128.py'))
    bmn = Config.fromfile(str(
        CONFIGS / 'rcl' / 'bmn_i3d-feat_1xb16-9e_thumos14-window128.py'))
    for cfg in (rcl, bmn):
        assert (cfg.model.temporal_dim, cfg.model.feat_dim) == (128, 2048)
        assert cfg.train_dataloader.batch_size == 16
        assert cfg.train_dataloader.dataset.type == 'ActivityNetDataset'
        assert 'bmn_windows128' in cfg.train_dataloader.dataset.ann_file
        assert cfg.test_evaluator.metric_type == 'TEM'  # dump; stitch later
        assert cfg.test_evaluator.dump_config.output_format == 'json'
    # RCL, Sec. 4.1 on THUMOS14: Adam, lr 6e-6 for 5 epochs, then / 10
    assert rcl.optim_wrapper.optimizer.type == 'Adam'
    assert rcl.optim_wrapper.optimizer.lr == 6e-6
    assert rcl.train_cfg.max_epochs == 10
    (step, ) = rcl.param_scheduler
    assert (step.milestones, step.gamma) == ([5], 0.1)
    model = MODELS.build(rcl.model)
    assert model.rcl_head.refine.num_iters == 10
    # stock BMN keeps MMAction2's schedule
    assert bmn.optim_wrapper.optimizer.lr == 1e-3


@pytest.mark.parametrize('name', [
    'bmn_synthetic-feat_1xb2-8e_embedded-anet.py',
    'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py'])
def test_cpu_activitynet_configs_standardize_every_split(name):
    """Stock BMN and BMN + RCL read the same standardised features (the
    comparison stays like for like); the real-data configs keep
    MMAction2's pipeline."""
    cfg = Config.fromfile(str(CONFIGS / 'rcl' / name))
    stock = Config.fromfile(
        str(CONFIGS / '_base_' / 'datasets' / 'anet_bmn_feature.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        types = [t['type'] for t in pipeline]
        assert types[:2] == ['LoadLocalizationFeature',
                             'StandardizeFeatures'], (loader, types)
        # otherwise MMAction2's pipeline, step for step (the CPU config
        # writes its lists out; they must not drift from the stock ones)
        assert [t for t in pipeline if t['type'] != 'StandardizeFeatures'
                ] == list(stock[loader].dataset.pipeline), loader
    real = Config.fromfile(
        str(CONFIGS / 'rcl' / 'bmn-rcl_tsn-feat_2xb8-10e_activitynet.py'))
    assert 'StandardizeFeatures' not in [
        t['type'] for t in real.train_dataloader.dataset.pipeline]
