"""LoadTALFeatures, RandomTruncateTAL, PackTALInputs."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample
from mmtal_zoom.datasets.transforms.truncation import crop_instances
from mmtal_zoom.structures.time_grid import grid_to_seconds, seconds_to_grid

FPS, STRIDE, NF = 30.0, 4, 16


def info(path, duration, segs, labels=None):
    segs = np.asarray(segs, np.float32).reshape(-1, 2)
    return dict(video_name='vid', feature_path=str(path), duration=duration,
                fps=FPS, feat_stride=STRIDE, num_frames=NF, gt_segments=segs,
                gt_labels=np.asarray(labels if labels is not None else
                                     [0] * len(segs), np.int64))


def write(tmp_path, arr, name='vid.npy'):
    p = tmp_path / name
    if name.endswith('.npy'):
        np.save(p, arr)
    else:
        torch.save(arr, p)
    return p


def n_snip(duration):
    return int((duration * FPS - NF) // STRIDE) + 1


# ---------------------------------------------------------------- loading
def test_load_transposes_and_converts_to_grid(tmp_path):
    T = n_snip(20.0)
    x = np.random.rand(T, 6)  # float64 on disk
    p = write(tmp_path, x)
    load = TRANSFORMS.build(dict(type='LoadTALFeatures', feat_dim=6))
    r = load(info(p, 20.0, [[2.0, 5.0], [10.0, 12.5]], [1, 0]))
    assert r['inputs'].shape == (6, T) and r['inputs'].dtype == np.float32
    np.testing.assert_allclose(r['inputs'], x.T, rtol=1e-6)
    assert r['feat_len'] == T and r['feat_offset'] == 0
    # the one convention: grid = (t * fps - num_frames / 2) / feat_stride
    np.testing.assert_allclose(r['grid_segments'],
                               [[13.0, 35.5], [73.0, 91.75]])
    np.testing.assert_allclose(
        r['grid_segments'],
        seconds_to_grid(r['gt_segments'], FPS, STRIDE, NF))
    assert r['grid_labels'].tolist() == [1, 0]
    assert r['grid_labels'].dtype == np.int64
    # the seconds stay untouched for evaluation
    np.testing.assert_allclose(r['gt_segments'], [[2.0, 5.0], [10.0, 12.5]])


def test_load_pt(tmp_path):
    p = write(tmp_path, torch.rand(n_snip(10.0), 4), 'vid.pt')
    r = TRANSFORMS.build(dict(type='LoadTALFeatures'))(info(p, 10.0, []))
    assert r['inputs'].shape == (4, n_snip(10.0))
    assert r['grid_segments'].shape == (0, 2)


def test_load_without_ground_truth(tmp_path):
    p = write(tmp_path, np.random.rand(n_snip(10.0), 4))
    r = info(p, 10.0, [])
    del r['gt_segments'], r['gt_labels']  # e.g. inference on a new video
    out = TRANSFORMS.build(dict(type='PackTALInputs'))(
        TRANSFORMS.build(dict(type='LoadTALFeatures'))(r))
    s = out['data_samples']
    assert s.gt_instances.segments.shape == (0, 2)
    assert s.eval_gt_segments.shape == (0, 2) and len(s.eval_gt_labels) == 0


def test_load_pt_refuses_pickled_objects(tmp_path):
    p = tmp_path / 'evil.pt'
    torch.save({'a': object()}, p)  # not loadable with weights_only=True
    with pytest.raises(Exception):
        TRANSFORMS.build(dict(type='LoadTALFeatures'))(info(p, 10.0, []))


@pytest.mark.parametrize('arr, kw, msg', [
    (np.zeros(75), {}, r'expected features of shape \(T, C\)'),
    (np.zeros((75, 5)), dict(feat_dim=6), r'expected \(T, 6\)'),
    (np.zeros((6, 75)), dict(feat_dim=6), 'looks transposed'),
    (np.zeros((300, 6)), {}, 'should have about 72'),
    (np.zeros((30, 6)), {}, 'should have about 72'),
    (np.full((72, 6), np.nan), {}, 'non-finite'),
])
def test_load_errors_name_the_file(tmp_path, arr, kw, msg):
    p = write(tmp_path, arr, 'bad_video.npy')
    load = TRANSFORMS.build(dict(type='LoadTALFeatures', **kw))
    with pytest.raises(ValueError, match=msg) as e:
        load(info(p, 10.0, []))
    assert 'bad_video.npy' in str(e.value)


def test_length_tolerance(tmp_path):
    # 10 s at 30 fps, stride 4, 16 frames: about 72 snippets
    ok = write(tmp_path, np.zeros((80, 3)), 'ok.npy')  # +11%: real-like
    TRANSFORMS.build(dict(type='LoadTALFeatures'))(info(ok, 10.0, []))
    far = write(tmp_path, np.zeros((144, 3)), 'far.npy')  # stride off by 2x
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='LoadTALFeatures'))(info(far, 10.0, []))
    TRANSFORMS.build(dict(type='LoadTALFeatures', length_tolerance=None))(
        info(far, 10.0, []))
    # 100 s: about 747 snippets; +11% passes by default, not at 5%
    ok100 = write(tmp_path, np.zeros((830, 3)), 'ok100.npy')
    TRANSFORMS.build(dict(type='LoadTALFeatures'))(info(ok100, 100.0, []))
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='LoadTALFeatures',
                              length_tolerance=0.05))(info(ok100, 100.0, []))


# ------------------------------------------------------------- truncation
def results(T, segs, labels=None, C=3):
    segs = np.asarray(segs, np.float32).reshape(-1, 2)
    return dict(
        inputs=np.arange(C * T, dtype=np.float32).reshape(C, T),
        feat_len=T, feat_offset=0, grid_segments=segs,
        grid_labels=np.asarray(labels if labels is not None else
                               list(range(len(segs))), np.int64),
        gt_segments=np.zeros((len(segs), 2), np.float32),
        gt_labels=np.zeros(len(segs), np.int64))


def test_crop_instances_overlap_rule():
    segs = np.array([[0, 10], [6, 12], [15, 19], [18, 30], [25, 40],
                     [12, 12]], np.float32)
    keep, clipped = crop_instances(segs, (10, 20), 0.5)
    # covered fractions: 0, 2/6, 1, 2/12, 0, 1 (point inside)
    assert keep.tolist() == [False, False, True, False, False, True]
    np.testing.assert_allclose(clipped[2], [15, 19])
    keep, clipped = crop_instances(segs, (10, 20), 0.3)
    assert keep.tolist() == [False, True, True, False, False, True]
    np.testing.assert_allclose(clipped[1], [10, 12])  # clipped to window


def test_short_sequence_unchanged():
    trunc = TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=64))
    r = results(50, [[3, 9]])
    inputs = r['inputs'].copy()
    out = trunc(r)
    assert out['feat_len'] == 50 and out['feat_offset'] == 0
    np.testing.assert_array_equal(out['inputs'], inputs)
    np.testing.assert_array_equal(out['grid_segments'], [[3, 9]])


def test_truncation_keeps_clips_and_sets_offset():
    T, L = 400, 64
    segs = np.array([[5, 25], [60, 64], [100, 180], [200, 210], [250, 251],
                     [300, 390]], np.float32)
    trunc = TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=L,
                                  trunc_thresh=0.5, has_action=False))
    np.random.seed(0)
    seen_offsets = set()
    for _ in range(60):
        r = results(T, segs)
        full = r['inputs'].copy()
        out = trunc(r)
        off = out['feat_offset']
        seen_offsets.add(off)
        assert out['feat_len'] == L and out['inputs'].shape == (3, L)
        np.testing.assert_array_equal(out['inputs'], full[:, off:off + L])
        kept = out['grid_labels'].tolist()
        for i, (s, e) in enumerate(segs):
            covered = max(0.0, min(e, off + L) - max(s, off)) / (e - s)
            assert (i in kept) == (covered >= 0.5), (off, i, covered)
        g = out['grid_segments']
        assert g.dtype == np.float32 and len(g) == len(kept)
        assert (g >= 0).all() and (g <= L).all()
        for (s, e), i in zip(g, kept):
            # mapping back with feat_offset gives the clipped original
            assert s + off == pytest.approx(max(segs[i, 0], off))
            assert e + off == pytest.approx(min(segs[i, 1], off + L))
        # evaluation ground truth is never truncated
        assert len(out['gt_labels']) == len(segs)
    assert len(seen_offsets) > 10  # the window really is random


def test_has_action_retries_until_an_instance_is_kept():
    T, L = 500, 32
    segs = [[470, 480]]  # a window keeps it with probability ~6%
    hits = {True: 0, False: 0}
    np.random.seed(1)
    for has_action in (True, False):
        trunc = TRANSFORMS.build(dict(type='RandomTruncateTAL',
                                      max_seq_len=L, has_action=has_action))
        for _ in range(30):
            hits[has_action] += len(trunc(results(T, segs))['grid_labels'])
    assert hits[True] == 30
    assert hits[False] < 15


def test_crop_ratio_crops_short_sequences():
    trunc = TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=256,
                                  crop_ratio=(0.5, 0.8)))
    np.random.seed(2)
    lens = [trunc(results(100, [[40, 60]]))['feat_len'] for _ in range(20)]
    assert all(50 <= n <= 80 for n in lens) and len(set(lens)) > 3


def test_bad_arguments():
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=0))
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=8,
                              crop_ratio=(0.9, 0.5)))


# ---------------------------------------------------------------- packing
def test_pack_types_shapes_and_metainfo(tmp_path):
    T = n_snip(40.0)
    p = write(tmp_path, np.random.rand(T, 5).astype(np.float32))
    load = TRANSFORMS.build(dict(type='LoadTALFeatures'))
    trunc = TRANSFORMS.build(dict(type='RandomTruncateTAL', max_seq_len=100))
    pack = TRANSFORMS.build(dict(type='PackTALInputs'))
    gt_sec = [[3.0, 6.0], [20.0, 21.0], [30.0, 36.0]]
    np.random.seed(3)
    out = pack(trunc(load(info(p, 40.0, gt_sec, [2, 0, 1]))))
    assert set(out) == {'inputs', 'data_samples'}
    x, s = out['inputs'], out['data_samples']
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert x.shape == (5, 100) and x.is_contiguous()
    assert isinstance(s, ActionDataSample)
    assert isinstance(s.gt_instances, InstanceData)
    assert s.gt_instances.segments.dtype == torch.float32
    assert s.gt_instances.labels.dtype == torch.int64
    assert s.gt_instances.segments.shape[1] == 2
    meta = s.metainfo
    for k in ('video_name', 'duration', 'fps', 'feat_stride', 'num_frames',
              'feat_len', 'feat_offset', 'eval_gt_segments',
              'eval_gt_labels'):
        assert k in meta, k
    assert meta['feat_len'] == 100 and meta['feat_offset'] > 0
    assert isinstance(meta['eval_gt_segments'], np.ndarray)
    np.testing.assert_allclose(meta['eval_gt_segments'], gt_sec)
    assert meta['eval_gt_labels'].tolist() == [2, 0, 1]
    # the seconds <-> grid round trip through feat_offset (unclipped ones)
    off = meta['feat_offset']
    for (gs, ge), lab in zip(s.gt_instances.segments.numpy(),
                             s.gt_instances.labels.tolist()):
        orig = np.array(gt_sec[[2, 0, 1].index(lab)])
        back = grid_to_seconds(np.array([gs, ge]) + off, FPS, STRIDE, NF,
                               40.0)
        g0 = seconds_to_grid(orig, FPS, STRIDE, NF)
        if g0[0] >= off and g0[1] <= off + 100:
            np.testing.assert_allclose(back, orig, atol=1e-4)


def test_pack_errors():
    pack = TRANSFORMS.build(dict(type='PackTALInputs'))
    with pytest.raises(KeyError, match='LoadTALFeatures'):
        pack(dict(video_name='v'))
    with pytest.raises(KeyError, match=r'"fps" missing for video "v"'):
        pack(dict(video_name='v', inputs=np.zeros((2, 3), np.float32),
                  duration=1.0))


def test_standardize_features_puts_a_video_on_unit_scale():
    rng = np.random.default_rng(0)
    raw = (0.16 + 0.09 * rng.random((400, 100))).astype(np.float32)
    raw[:40, 30:60] += 0.3  # an action in a few channels
    t = TRANSFORMS.build(dict(type='StandardizeFeatures'))
    out = t(dict(raw_feature=raw.copy(), video_name='v_a'))['raw_feature']
    assert out.shape == raw.shape and out.dtype == np.float32
    assert abs(float(out.mean())) < 1e-5
    assert float(out.std()) == pytest.approx(1.0, abs=1e-4)
    # one affine map for the whole video: every relation between channels
    # and time steps is kept
    scale = raw.std()
    assert np.allclose(out, (raw - raw.mean()) / scale, atol=1e-4)
    # the same video at another feature scale gives the same inputs
    out10 = t(dict(raw_feature=10 * raw + 3, video_name='v_a'))['raw_feature']
    assert np.allclose(out10, out, atol=1e-4)
    # a constant video stays finite; the project's pipeline key works too
    flat = t.__class__(keys='inputs')(
        dict(inputs=np.ones((4, 8), np.float32)))['inputs']
    assert np.isfinite(flat).all() and (flat == 0).all()
    with pytest.raises(KeyError, match="no 'raw_feature'.*'v_b'"):
        t(dict(inputs=raw, video_name='v_b'))
