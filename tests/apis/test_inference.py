"""init_localizer / inference_localizer on the real I3D sample features."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_localizer import (CLASSES, tiny_localizer_cfg,  # noqa: E402
                            trained_tiny_localizer)

from mmtal_zoom.apis import inference_localizer, init_localizer  # noqa: E402
from mmtal_zoom.structures import segment_iou  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY_EXTRACTOR = str(REPO / 'configs' / 'extractors' /
                     'tiny_slowonly_r18_random.py')


@pytest.fixture(scope='module')
def localizer():
    samples = REPO.parent / 'shared' / 'data' / 'real_i3d_samples'
    if not samples.is_dir():
        pytest.skip(f'{samples} is absent')
    cfg_file, ckpt = trained_tiny_localizer()
    gt = json.loads((samples / 'annotations.json').read_text())['database']
    return init_localizer(cfg_file, ckpt), samples, gt


def test_init_localizer_reads_checkpoint_meta(localizer):
    model, _, _ = localizer
    assert not model.training
    meta = model.dataset_meta
    assert meta['classes'] == CLASSES  # stored in the checkpoint's meta
    assert (meta['feat_stride'], meta['num_frames'],
            meta['default_fps']) == (4, 16, 30.0)
    assert [t['type'] for t in meta['pipeline']] == ['LoadTALFeatures',
                                                     'PackTALInputs']


def test_inference_on_real_features(localizer):
    model, samples, gt = localizer
    entry = gt['tennis26']
    pred = inference_localizer(model, str(samples / 'tennis26.npy'),
                               duration=entry['duration'], fps=entry['fps'],
                               score_thr=0.05)
    k = len(pred)
    assert k > 0
    assert pred.segments.shape == (k, 2) and pred.scores.shape == (k, )
    assert pred.labels.dtype == torch.long
    assert (pred.scores >= 0.05).all()
    assert (pred.scores[:-1] >= pred.scores[1:]).all()  # sorted
    assert (pred.segments[:, 0] <= pred.segments[:, 1]).all()
    assert pred.segments.min() >= 0 and pred.segments.max() <= 11.0
    assert pred.label_names == [CLASSES[i] for i in pred.labels.tolist()]
    assert pred.metainfo['video_name'] == 'tennis26'
    assert pred.metainfo['feat_len'] == 89
    assert pred.metainfo['classes'] == CLASSES
    # seconds end to end: the best detection hits a real TennisSwing
    gt_segs = torch.tensor([a['segment'] for a in entry['annotations']])
    assert pred.label_names[0] == 'TennisSwing'
    assert segment_iou(pred.segments[:1], gt_segs).max() >= 0.5


def test_array_tensor_and_file_inputs_agree(localizer):
    model, samples, _ = localizer
    path = samples / 'highjump.npy'
    feats = np.load(path)
    ref = inference_localizer(model, str(path), duration=24.0)
    for x in (feats, torch.from_numpy(feats)):
        out = inference_localizer(model, x, video_name='highjump',
                                  duration=24.0)
        torch.testing.assert_close(out.segments, ref.segments)
        torch.testing.assert_close(out.scores, ref.scores)
        assert out.metainfo['video_name'] == 'highjump'
    # without a duration: what T snippets cover, ((T-1)*4 + 16) / 30
    out = inference_localizer(model, feats)
    assert out.metainfo['duration'] == pytest.approx((163 * 4 + 16) / 30)
    assert out.metainfo['video_name'] == 'video'


def test_bad_inputs_are_explained(localizer, tmp_path):
    model, samples, _ = localizer
    with pytest.raises(ValueError, match=r'\(T, C\)'):
        inference_localizer(model, np.zeros(10))
    with pytest.raises(ValueError, match='2048'):
        inference_localizer(model, np.zeros((50, 64), np.float32))
    with pytest.raises(ValueError, match='feature extractor'):
        inference_localizer(model, str(samples / 'tennis26.mp4'))
    with pytest.raises(ValueError, match='unknown input type'):
        inference_localizer(model, str(tmp_path / 'x.txt'))
    with pytest.raises(FileNotFoundError):
        inference_localizer(model, str(tmp_path / 'missing.npy'))


def test_checkpoint_of_another_model_is_refused(localizer, tmp_path):
    _, ckpt = trained_tiny_localizer()
    cfg = tiny_localizer_cfg(in_channels=64)
    with pytest.raises(ValueError, match='with another shape') as err:
        init_localizer(cfg, ckpt)
    assert ckpt in str(err.value) and 'backbone.' in str(err.value)
    with pytest.raises(ValueError, match='3 class names'):
        init_localizer(tiny_localizer_cfg(), ckpt, classes=['a', 'b', 'c'])


def test_video_input_with_extractor(localizer):
    """A raw video: features extracted on the fly (random tiny extractor,
    64-d) for a localizer of matching input size (random weights)."""
    _, samples, _ = localizer
    with pytest.warns(UserWarning, match='RANDOM'):
        model = init_localizer(tiny_localizer_cfg(in_channels=64), None,
                               classes=CLASSES)
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):
        pred = inference_localizer(model, str(samples / 'tennis26.mp4'),
                                   extractor=TINY_EXTRACTOR)
    meta = pred.metainfo
    assert meta['feat_len'] == 81  # (339 - 16) // 4 + 1
    assert meta['duration'] == pytest.approx(339 / meta['fps'])
    assert meta['fps'] == pytest.approx(30.09, abs=0.01)  # the video's own
    if len(pred):
        assert pred.segments.max() <= meta['duration'] + 1e-4
