"""On a CUDA device: mixed-precision training steps of the baseline and of
CLTDR-GMG (what ``tools/train.py --amp`` does), the same predictions as on
the CPU, and the segment ops (tIoU, NMS, Soft-NMS) equal to their CPU
results. Marked ``cuda``: skipped without a CUDA device (tests/conftest.py);
``tools/gpu_check.sh`` runs them."""
import contextlib
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmtal_zoom.structures import (batched_segment_iou, multiclass_segment_nms,
                                   segment_iou)

pytestmark = pytest.mark.cuda

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
AMP_CONFIGS = ['baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
               'cltdr_gmg/cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py']


def make_batch(channels=256, lengths=(300, 170), seed=0):
    """Two videos of the embedded configs' input: (C, T_i) features with
    separable action regions and their ground truth (grid units)."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i, length in enumerate(lengths):
        x = torch.randn(channels, length, generator=gen)
        segments = [[20.0, 45.0], [100.0, 112.0]] if i == 0 else [[30.0,
                                                                   90.0]]
        labels = [1, 4] if i == 0 else [7]
        for (s, e), c in zip(segments, labels):
            x[c * 8:(c + 1) * 8, int(s):int(e)] += 3.0
        sample = ActionDataSample()
        sample.gt_instances = InstanceData(
            segments=torch.tensor(segments), labels=torch.tensor(labels))
        sample.set_metainfo(dict(
            video_name=f'v{i}', duration=length * 4 / 30.0, fps=30.0,
            feat_stride=4, num_frames=16, feat_len=length, feat_offset=0))
        inputs.append(x)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build(rel_path):
    return MODELS.build(Config.fromfile(str(CONFIGS / rel_path)).model)


def amp_train_steps(model, steps=3):
    """``--amp``: mmengine's AmpOptimWrapper (autocast to fp16 + dynamic
    loss scaling) through the model's own ``train_step``."""
    optim = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-4),
        loss_scale='dynamic')
    logs = [model.train_step(make_batch(seed=s), optim) for s in range(steps)]
    return logs, optim


@pytest.mark.parametrize('rel_path', AMP_CONFIGS)
def test_amp_training_steps_on_cuda(rel_path):
    torch.manual_seed(0)
    model = build(rel_path).cuda().train()
    before = [p.detach().clone() for p in model.parameters()]
    logs, optim = amp_train_steps(model)
    for log in logs:
        assert log and all(torch.isfinite(torch.as_tensor(v)).all()
                           for v in log.values()), log
    assert optim.loss_scaler.get_scale() > 0
    after = list(model.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    moved = sum(not torch.equal(b, a.detach()) for b, a in zip(before, after))
    assert moved > 0.9 * len(after)  # (nearly) every parameter was updated


@pytest.mark.parametrize('rel_path', AMP_CONFIGS)
def test_cuda_outputs_equal_cpu_outputs(rel_path):
    torch.manual_seed(0)
    cpu_model = build(rel_path).eval()
    gpu_model = copy.deepcopy(cpu_model).cuda()
    batch = make_batch()
    # full fp32 on the GPU too: cuDNN's TF32 convolutions (on by default)
    # round to 10 mantissa bits; matmuls stay fp32 at the default precision
    with torch.no_grad(), torch.backends.cudnn.flags(
            enabled=True, allow_tf32=False), _matmul_precision('highest'):
        outs = []
        for model in (cpu_model, gpu_model):
            data = model.data_preprocessor(batch, training=False)
            outs.append(model(data['inputs'], masks=data['masks'],
                              mode='tensor'))
        cpu_out, gpu_out = outs
        for cpu_level, gpu_level in zip(_flatten(cpu_out), _flatten(gpu_out)):
            assert gpu_level.is_cuda
            torch.testing.assert_close(gpu_level.cpu(), cpu_level,
                                       rtol=1e-3, atol=1e-3)
        preds = gpu_model.val_step(copy.deepcopy(batch))
    for pred, sample in zip(preds, batch['data_samples']):
        segs = pred.pred_instances.segments
        assert len(segs) > 0
        assert (segs >= 0).all() and (segs <= sample.duration + 1e-4).all()


@contextlib.contextmanager
def _matmul_precision(precision):
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _flatten(out):
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in _flatten(item)]


def _random_segments(num, gen):
    starts = torch.rand(num, generator=gen) * 100
    lengths = torch.rand(num, generator=gen) * 20 + 0.5
    return torch.stack([starts, starts + lengths], 1)


def test_segment_iou_on_cuda_equals_cpu():
    gen = torch.Generator().manual_seed(0)
    a, b = _random_segments(300, gen), _random_segments(200, gen)
    iou = segment_iou(a.cuda(), b.cuda())
    assert iou.is_cuda
    torch.testing.assert_close(iou.cpu(), segment_iou(a, b))
    batched = batched_segment_iou(a.view(3, 100, 2).cuda(),
                                  b.view(2, 100, 2)[:1].expand(3, -1, -1)
                                  .cuda())
    torch.testing.assert_close(
        batched.cpu(),
        batched_segment_iou(a.view(3, 100, 2),
                            b.view(2, 100, 2)[:1].expand(3, -1, -1)))


@pytest.mark.parametrize('method', ['hard', 'linear', 'gaussian'])
def test_nms_on_cuda_equals_cpu(method):
    gen = torch.Generator().manual_seed(1)
    segments = _random_segments(2000, gen)
    scores = torch.rand(2000, generator=gen)
    labels = torch.randint(0, 5, (2000, ), generator=gen)
    cfg = dict(method=method, iou_threshold=0.5 if method == 'hard' else 0.1,
               sigma=0.5, min_score=0.001, max_num=200)
    cpu = multiclass_segment_nms(segments, scores, labels, cfg)
    gpu = multiclass_segment_nms(segments.cuda(), scores.cuda(),
                                 labels.cuda(), cfg)
    assert all(t.is_cuda for t in gpu)
    assert len(gpu[0]) == len(cpu[0]) > 0
    for g, c in zip(gpu, cpu):
        torch.testing.assert_close(g.cpu(), c, rtol=1e-5, atol=1e-6)
