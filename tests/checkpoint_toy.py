"""The toy model, data and metric that the checkpoint tests train with
mmengine's Runner (AdamW, LinearLR + CosineAnnealingLR, EMAHook,
CheckpointHook with save_best / save_last, the message hub), so that the
files they load are real runner checkpoints."""
import glob
import json
import os.path as osp
import uuid

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

ITERS_PER_EPOCH = 4


class ToyData(Dataset):
    """16 points in R^4, label = sign of the sum; numpy values in metainfo."""

    def __init__(self, n=16):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=gen)
        self.y = (self.x.sum(1, keepdim=True) > 0).float()
        self.metainfo = dict(classes=('neg', 'pos'), weights=np.ones(2),
                             ratio=np.float64(0.5))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, labels, mode='tensor'):
        x, y = torch.stack(inputs), torch.stack(labels)
        out = self.fc(self.bn(x))
        if mode == 'loss':
            return dict(
                loss=nn.functional.binary_cross_entropy_with_logits(out, y))
        return [dict(pred=o, gt=t) for o, t in zip(out, y)]


class ToyAccuracy(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(
            float((d['pred'] > 0) == (d['gt'] > 0.5)) for d in data_samples)

    def compute_metrics(self, results):
        # a numpy scalar, as many metrics return
        return dict(acc=np.float32(np.mean(results)))


def _loader(shuffle):
    return dict(dataset=ToyData(), batch_size=4, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=shuffle))


def make_runner(work_dir, max_epochs=2, **kwargs):
    cfg = dict(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=_loader(True),
        val_dataloader=_loader(False), val_evaluator=[ToyAccuracy()],
        val_cfg=dict(),
        test_dataloader=_loader(False), test_evaluator=[ToyAccuracy()],
        test_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
            clip_grad=dict(max_norm=1.0)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
                 end=1, convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1,
                 end=2, convert_to_iter_based=True)],
        custom_hooks=[dict(type='EMAHook', momentum=0.01)],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1,
                            save_best='acc', rule='greater',
                            save_last=True)),
        randomness=dict(seed=0, deterministic=True),
        default_scope='mmaction',  # the project's scope (a global setting)
        # mmengine keys its MessageHub and Visualizer singletons by the
        # experiment name (a timestamp by default): runners built in the
        # same second would share them.
        experiment_name=f'ckpt_test_{uuid.uuid4().hex}')
    cfg.update(kwargs)
    return Runner(**cfg)


def logged_losses(work_dir):
    """(step, loss) pairs that LoggerHook wrote to vis_data/scalars.json."""
    out = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data',
                                   'scalars.json')):
        with open(path) as f:
            out += [(r['step'], r['loss']) for r in map(json.loads, f)
                    if 'loss' in r]
    return sorted(out)
