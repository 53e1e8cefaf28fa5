"""Shared pieces of the model tests: ``ActionDataSample`` ground truth, the
two-video toy batch, masked random inputs, and the small ActionFormer parts
(ConvProjection or ATRBackbone -> TransformerPyramidNeck ->
ActionFormerHead) the detector tests build on. Not a test module."""
import torch
from mmengine.structures import InstanceData

from mmaction.structures import ActionDataSample

STRIDES = [1, 2, 4, 8]
RANGES = [(0, 4), (4, 8), (8, 16), (16, 10000)]


def make_sample(length, segments, labels, name='v'):
    """Ground truth ``segments`` (grid units) / ``labels`` of a video of
    ``length`` snippets (fps 30, stride 4, 16 frames per snippet)."""
    sample = ActionDataSample()
    sample.gt_instances = InstanceData(
        segments=torch.tensor(segments, dtype=torch.float32).reshape(-1, 2),
        labels=torch.tensor(labels, dtype=torch.long))
    sample.set_metainfo(dict(
        video_name=name, duration=length * 4 / 30.0, fps=30.0,
        feat_stride=4, num_frames=16, feat_len=length, feat_offset=0))
    return sample


def make_batch(seed=0):
    """Two videos (64 and 40 snippets, 8 channels) whose actions stand out
    in a few channels."""
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(8, 64, generator=g), torch.randn(8, 40, generator=g)]
    # make the action regions separable
    feats[0][:3, 10:20] += 3.0
    feats[0][3:6, 40:44] += 3.0
    feats[1][:3, 5:25] += 3.0
    return dict(inputs=feats, data_samples=[
        make_sample(64, [[10, 20], [40, 44]], [0, 1], 'a'),
        make_sample(40, [[5, 25]], [0], 'b')])


def masked_inputs(b, t, valid, seed=0):
    """``b`` random ``(8, t)`` inputs and their ``(b, t)`` masks; the second
    video is valid for its first ``valid`` snippets (its padding zeroed)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 8, t, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, valid:] = False
    return x * mask[:, None], mask


def actionformer_head(**overrides):
    """ActionFormerHead config: 3 classes, 16 channels, 4 levels."""
    head = dict(
        type='ActionFormerHead', num_classes=3, in_channels=16,
        feat_channels=16,
        prior_generator=dict(type='PointGenerator1D', strides=STRIDES,
                             regression_ranges=RANGES))
    head.update(overrides)
    return head


def baseline_body(num_levels=4):
    """Data preprocessor, backbone and neck of the small baseline
    (8-channel inputs, 16-d, ``num_levels`` pyramid levels)."""
    return dict(
        data_preprocessor=dict(type='TALDataPreprocessor', max_seq_len=64,
                               pad_size_divisor=8),
        backbone=dict(type='ConvProjection', in_channels=8, embed_dims=16),
        neck=dict(type='TransformerPyramidNeck', in_channels=16,
                  num_levels=num_levels, num_heads=2, window_size=5,
                  drop_path=0.0))


def atr_detector(head, router=dict(type='ATRDepthRouter'), max_seq_len=64):
    """TALDetector config of the small ATR model: 8-channel inputs, a 16-d
    ATRBackbone with two deep layers and ``router`` (``None``: uniform
    depth), a 4-level TransformerPyramidNeck, then ``head``."""
    return dict(
        type='TALDetector',
        data_preprocessor=dict(type='TALDataPreprocessor',
                               max_seq_len=max_seq_len, pad_size_divisor=8),
        backbone=dict(type='ATRBackbone', in_channels=8, embed_dims=16,
                      num_heads=2, window_size=5, num_deep=2,
                      drop_path=0.0, router=router),
        neck=dict(type='TransformerPyramidNeck', in_channels=16,
                  num_levels=4, num_stem=0, num_heads=2, window_size=5,
                  drop_path=0.0),
        head=head)
