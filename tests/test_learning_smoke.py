"""Do the detector configs learn at all? A smoke test on a tiny preset.

Every CPU-sized detector config is trained as it is — its model parts, its
optimizer, weight-decay groups and warm-up + cosine schedule shape — with
only the model widths shrunk (32-d, 4 pyramid levels), the data replaced by
the tiny generated preset and the schedule shortened to 144 iterations (a
tenth of the recipe's ~1,200), with the learning rate raised 5x to match.
The test fails if the training loss does not fall or
if the test mAP stays near what random detections score: the failure mode of
configs that "do not learn" on data they were not tuned on.
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmtal_zoom.evaluation.functional import evaluate_detection

REPO_ROOT = Path(__file__).resolve().parents[1]

CONFIGS = {
    'baseline':
    'configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
    'cltdr_gmg':
    'configs/cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py',
    'zoom_uniform':
    'configs/zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py',
    'zoom_atr':
    'configs/zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
}
EPOCHS = 24  # 12 training videos, batch 2: 144 iterations
LR_FACTOR = 5.0  # a tenth of the iterations, a shorter run needs a larger lr
DIMS, LEVELS = 32, 4


def shrink(cfg, data_root, work_dir):
    """The config with the tiny data, 32-d widths, 4 levels and a short
    schedule of the same shape (warm-up over the same fraction)."""
    data = dict(ann_file=str(data_root / 'annotations.json'),
                data_prefix=dict(feature=str(data_root / 'features')))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key]['dataset'].update(data)
    # fit and generalisation together: all 20 videos (12 seen in training)
    cfg.test_dataloader.dataset.subset = None
    cfg.train_dataloader.batch_size = 2
    m = cfg.model
    m.data_preprocessor.update(max_seq_len=192, pad_size_divisor=8)
    m.backbone.update(in_channels=32, embed_dims=DIMS)
    m.neck.in_channels = DIMS
    m.neck.num_levels = LEVELS
    if 'window_size' in m.neck:
        m.neck.window_size = 5
    if 'ffn_dims' in m.neck:
        m.neck.ffn_dims = 2 * DIMS
    if 'window_size' in m.backbone:
        m.backbone.window_size = 5
    head = m.head.get('base_head', m.head)
    head.update(num_classes=4, in_channels=DIMS, feat_channels=DIMS)
    head.prior_generator.update(
        strides=[1, 2, 4, 8],
        regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)])
    if 'num_bins' in head:
        head.num_bins = 4
    if 'bdr' in m.head:
        m.head.bdr.update(in_channels=DIMS, feat_channels=DIMS)
    if 'num_groups' in m.neck:
        m.neck.num_groups = 8
    total = cfg.train_cfg.max_epochs
    cfg.optim_wrapper.optimizer.lr *= LR_FACTOR
    cfg.train_cfg.update(max_epochs=EPOCHS, val_begin=EPOCHS + 1)
    for sched in cfg.param_scheduler:
        for key in ('begin', 'end', 'T_max'):
            if key in sched:
                sched[key] = max(int(round(sched[key] * EPOCHS / total)), 1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=EPOCHS)
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(type='LogProcessor', window_size=1,
                             by_epoch=True)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    cfg.visualizer = dict(type='ActionVisualizer', vis_backends=[])
    return cfg


def fixed_batch_loss(runner, batches) -> float:
    """Total training loss of the model on ``batches`` with dropout and drop
    path off and every loss normaliser frozen (an EMA of the positives that
    starts at 100 would otherwise make early losses look small)."""
    model = runner.model
    saved = {m: (m.loss_normalizer, m.loss_normalizer_momentum)
             for m in model.modules() if hasattr(m, 'loss_normalizer')}
    for m in saved:
        m.loss_normalizer, m.loss_normalizer_momentum = 20.0, 1.0
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i, batch in enumerate(batches):
            torch.manual_seed(i)
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
            total += sum(v.item() for k, v in losses.items() if 'loss' in k)
    for m, (norm, mom) in saved.items():
        m.loss_normalizer, m.loss_normalizer_momentum = norm, mom
    model.train()
    return total / len(batches)


def chance_map(dataset, num_classes, rng):
    """avg mAP of random detections (uniform segments, classes, scores; as
    many per video as the model may output) on ``dataset``."""
    gt, pred = {}, {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name, dur = info['video_name'], info['duration']
        gt[name] = dict(segments=info['gt_segments'],
                        labels=info['gt_labels'])
        s = rng.uniform(0, dur, (200, 2))
        pred[name] = dict(segments=np.sort(s, axis=1),
                          scores=rng.random(200),
                          labels=rng.integers(num_classes, size=200))
    return evaluate_detection(gt, pred, num_classes)['average_mAP']


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_detector_config_learns(name, tiny_tal_dataset, tmp_path):
    torch.set_num_threads(1)
    cfg = shrink(Config.fromfile(str(REPO_ROOT / CONFIGS[name])),
                 tiny_tal_dataset, tmp_path)
    runner = Runner.from_cfg(cfg)
    loader = runner.build_dataloader(cfg.train_dataloader, seed=0)
    batches = [b for _, b in zip(range(4), loader)]
    before = fixed_batch_loss(runner, batches)
    runner.train()
    after = fixed_batch_loss(runner, batches)
    assert after < 0.6 * before, (name, before, after)
    metrics = runner.test()
    ds = runner.test_dataloader.dataset
    chance = chance_map(ds, 4, np.random.default_rng(0))
    got = metrics['tal/average_mAP']
    print(f'{name}: loss {before:.3f} -> {after:.3f}, avg mAP {got:.3f} '
          f'(random detections {chance:.3f})')
    assert got > max(3 * chance, 0.15), (name, got, chance)
