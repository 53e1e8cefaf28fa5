"""The small CLTDR head, its detector and inputs shared by
test_cltdr_head.py and test_cltdr_head_ablations.py. Not a test module."""
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tal_batches import RANGES, STRIDES, make_sample  # noqa: E402,F401

D, K, LEVELS = 16, 3, 4


def head_cfg(**kw):
    cfg = dict(type='CLTDRHead', num_classes=K, in_channels=D,
               feat_channels=D, num_bins=4,
               prior_generator=dict(type='PointGenerator1D', strides=STRIDES,
                                    regression_ranges=RANGES))
    cfg.update(kw)
    return cfg


def detector_cfg(neck=None, head=None, in_channels=8):
    return dict(
        type='TALDetector',
        backbone=dict(type='ConvProjection', in_channels=in_channels,
                      embed_dims=D),
        neck=neck or dict(type='GMGNeck', in_channels=D, num_levels=LEVELS,
                          num_stem=1, ffn_dims=24, num_groups=4),
        head=head or head_cfg())


def pyramid(batch=2, t=40, lengths=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = lengths or [t] * batch
    feats, masks = [], []
    for lvl in range(LEVELS):
        tl = -(-t // 2**lvl)
        m = torch.arange(tl)[None] < torch.tensor(
            [-(-n // 2**lvl) for n in lengths])[:, None]
        feats.append(torch.randn(batch, D, tl, generator=g) * m[:, None])
        masks.append(m)
    return tuple(feats), tuple(masks)


# a short, a medium and a long action so that every level has positives
SAMPLES = [([[3, 9], [12, 20], [2, 38]], [0, 2, 1]),
           ([[5, 8], [20, 35], [1, 39]], [1, 0, 2])]


def samples(t=40):
    return [make_sample(t, s, lab, f'v{i}')
            for i, (s, lab) in enumerate(SAMPLES)]
