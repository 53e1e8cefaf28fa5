"""TALDetector test_cfg: sliding-window inference and resize-to-fixed-length
for videos longer than the training crop."""
import copy

import pytest
import torch
from tal_batches import make_sample
from test_baseline_model import detector_cfg

from mmaction.registry import MODELS


def build_pair(**test_cfg):
    """A plain detector and one with ``test_cfg``, same weights."""
    torch.manual_seed(0)
    plain = MODELS.build(detector_cfg()).eval()
    cfg = detector_cfg()
    cfg['test_cfg'] = test_cfg
    other = MODELS.build(cfg).eval()
    other.load_state_dict(plain.state_dict())
    return plain, other


def predict(model, feats, lengths):
    samples = [make_sample(n, [[1, 3]], [0], f'v{i}')
               for i, n in enumerate(lengths)]
    with torch.no_grad():
        return model(**model.data_preprocessor(
            dict(inputs=feats, data_samples=samples)), mode='predict')


def assert_same(a, b):
    for x, y in zip(a, b):
        p, q = x.pred_instances, y.pred_instances
        assert len(p.scores) > 0 and len(p.scores) == len(q.scores)
        torch.testing.assert_close(p.segments, q.segments, atol=1e-4,
                                   rtol=1e-4)
        torch.testing.assert_close(p.scores, q.scores, atol=1e-5, rtol=1e-4)
        assert torch.equal(p.labels, q.labels)


def test_video_within_one_window_equals_single_pass():
    plain, windowed = build_pair(sliding_window=dict(window=64, overlap=16))
    g = torch.Generator().manual_seed(1)
    short = torch.randn(8, 40, generator=g)
    long = torch.randn(8, 200, generator=g)
    assert_same(predict(windowed, [short], [40]),
                predict(plain, [short], [40]))
    # in a batch with a long video, the short one goes through the window
    # path alone (padded to the window): still the single pass
    mixed = predict(windowed, [short, long], [40, 200])
    assert_same(mixed[:1], predict(plain, [short], [40]))


def test_long_video_windows_in_video_seconds():
    plain, windowed = build_pair(sliding_window=dict(window=64, overlap=16))
    long = torch.randn(8, 200, generator=torch.Generator().manual_seed(2))
    out = predict(windowed, [long], [200])[0]
    segs, duration = out.pred_instances.segments, out.duration
    assert len(segs) > 0
    assert segs.min() >= 0 and segs.max() <= duration + 1e-6
    assert (segs[:, 1] >= segs[:, 0]).all()
    # detections from later windows lie beyond the first window's span
    first_window_end = (64 * 4 + 8) / 30.0
    assert segs[:, 0].max() > first_window_end


def test_windows_are_the_plain_model_on_shifted_chunks():
    """With a merge NMS that suppresses nothing, the merged detections are
    exactly the plain model's on each chunk with ``feat_offset`` = start."""
    keep_all = dict(method='hard', iou_threshold=1.5, min_score=0.0,
                    max_num=None)
    plain, windowed = build_pair(
        sliding_window=dict(window=64, overlap=16, nms=keep_all))
    long = torch.randn(8, 200, generator=torch.Generator().manual_seed(2))
    got = predict(windowed, [long], [200])[0].pred_instances
    ref_scores = []
    for start in (0, 48, 96, 136):
        sample = make_sample(200, [[1, 3]], [0], 'c')
        sample.set_metainfo(dict(feat_offset=start))
        with torch.no_grad():
            ref = plain(**plain.data_preprocessor(
                dict(inputs=[long[:, start:start + 64]],
                     data_samples=[sample])), mode='predict')[0]
        ref_scores.append(ref.pred_instances.scores)
        # this window's detections are in the merged set, in video time
        segs = ref.pred_instances.segments
        assert segs[:, 1].max() > (start * 4 + 8) / 30.0
        d = (segs[:, None] - got.segments[None]).abs().sum(-1).min(1).values
        assert d.max() < 1e-4
    assert len(got.scores) == sum(map(len, ref_scores))
    torch.testing.assert_close(got.scores.sort().values,
                               torch.cat(ref_scores).sort().values)


def test_resize_to_fixed_length():
    plain, resized = build_pair(resize_length=64)
    x = torch.randn(8, 64, generator=torch.Generator().manual_seed(3))
    assert_same(predict(resized, [x], [64]), predict(plain, [x], [64]))
    long = torch.randn(8, 200, generator=torch.Generator().manual_seed(4))
    out = predict(resized, [long], [200])[0]
    segs = out.pred_instances.segments
    assert len(segs) > 0 and segs.min() >= 0
    assert segs.max() <= out.duration + 1e-6
    assert segs[:, 1].max() > (64 * 4 + 8) / 30.0  # mapped back, not crop


def test_bad_test_cfg():
    cfg = detector_cfg()
    for bad, err in [(dict(sliding_window=dict(window=60)), ValueError),
                     (dict(resize_length=64, sliding_window=dict(window=64)),
                      ValueError),
                     (dict(slide=1), KeyError)]:
        c = copy.deepcopy(cfg)
        c['test_cfg'] = bad
        with pytest.raises(err):
            MODELS.build(c)
