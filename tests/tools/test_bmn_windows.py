"""THUMOS14-style videos as windows for BMN-style localizers and back
(tools/bmn_windows.py, mmtal_zoom/datasets/converters/bmn_windows.py)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.registry import DATASETS, MODELS
from mmtal_zoom.datasets.converters.bmn_windows import (
    split_into_windows, stitch_window_proposals, window_starts,
    write_bmn_windows)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools'))
import bmn_windows as tool  # noqa: E402

FPS, FS, NF = 30.0, 4, 16


@pytest.fixture(autouse=True)
def mmaction_scope():
    # MMAction2's transforms (LoadLocalizationFeature, ...) are looked up
    # in its scope, as the Runner sets it from the configs' default_scope
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')


def one_video(num_snippets=100, segments=((5.0, 7.0), ), subset='Test'):
    db = {'vid': dict(subset=subset, duration=num_snippets * FS / FPS,
                      fps=FPS, annotations=[dict(segment=list(s), label='a')
                                            for s in segments])}
    feats = {'vid': np.arange(num_snippets, dtype=np.float32)[:, None]
             * np.ones((1, 3), np.float32)}
    return dict(database=db), feats


@pytest.mark.parametrize('t,window,stride,expected', [
    (10, 4, 2, [0, 2, 4, 6]),
    (11, 4, 4, [0, 4, 7]),  # the last window ends at the end
    (3, 4, 2, [0]),
])
def test_window_starts(t, window, stride, expected):
    assert window_starts(t, window, stride) == expected


def test_windows_keep_features_and_ground_truth_in_window_time():
    db, feats = one_video(segments=[(5.0, 7.0)])
    entries, out = split_into_windows(db, feats, window=32, stride=16,
                                      feat_stride=FS, num_frames=NF,
                                      subset_map={'Test': 'test'})
    span = 32 * FS / FPS
    kept = 0
    for name, e in entries.items():
        start = int(name.rsplit('__w', 1)[1])
        # grid position i of the window is snippet start + i
        np.testing.assert_array_equal(out[name][:, 0],
                                      np.arange(start, start + 32))
        assert e['offset_second'] == pytest.approx(
            (start * FS + NF / 2) / FPS)
        assert e['duration_second'] == pytest.approx(span)
        lo, hi = e['offset_second'], e['offset_second'] + span
        inside = min(7.0, hi) - max(5.0, lo)
        if inside >= 0.75 * 2.0:
            (ann, ) = e['annotations']
            s, t = np.array(ann['segment']) + e['offset_second']
            assert (s, t) == pytest.approx((max(5.0, lo), min(7.0, hi)))
            kept += 1
        else:
            assert e['annotations'] == []
    assert kept >= 1 and len(entries) == len(window_starts(100, 32, 16))


def test_training_skips_empty_windows_and_short_videos_are_padded():
    db, feats = one_video(num_snippets=20, segments=[(0.5, 1.5)],
                          subset='Validation')
    entries, out = split_into_windows(db, feats, window=32, feat_stride=FS,
                                      num_frames=NF,
                                      subset_map={'Validation': 'train'})
    (name, ) = entries
    assert entries[name]['subset'] == 'train'
    assert out[name].shape == (32, 3)
    assert np.all(out[name][20:] == 0)
    db, feats = one_video(segments=[(5.0, 7.0)], subset='Validation')
    entries, _ = split_into_windows(db, feats, window=16, stride=16,
                                    feat_stride=FS, num_frames=NF,
                                    subset_map={'Validation': 'train'})
    assert entries and all(e['annotations'] for e in entries.values())


def test_mmaction_bmn_pipeline_reads_the_windows(tmp_path):
    db, feats = one_video(segments=[(5.0, 7.0)])
    paths = write_bmn_windows(str(tmp_path), db, feats, window=32,
                              feat_stride=FS, num_frames=NF,
                              subset_map={'Test': 'test'})
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/thumos14_i3d_bmn_windows.py'))
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset,
                             ann_file=paths['test'],
                             data_prefix=dict(video=paths['feature_dir'])))
    windows = json.loads(Path(paths['test']).read_text())
    found = 0
    for i in range(len(ds)):
        item = ds[i]
        name = item['data_samples'].metainfo['video_name']
        assert item['inputs'].shape == (3, 32)
        bbox = item['data_samples'].gt_instances.gt_bbox
        anns = windows[name]['annotations']
        if anns:
            found += 1
            np.testing.assert_allclose(
                np.asarray(bbox), np.array(anns[0]['segment'])[None] /
                windows[name]['duration_second'], atol=1e-6)
    assert found >= 1


def test_stitch_merges_overlapping_windows_in_video_time():
    windows = {
        'v_vid__w000000': dict(video='vid', offset_second=0.25,
                               video_duration=10.0),
        'v_vid__w000016': dict(video='vid', offset_second=2.5,
                               video_duration=10.0),
    }
    results = {  # the same segment (3.0, 5.0) s seen by both windows
        'vid__w000000': [dict(segment=[2.75, 4.75], score=0.9),
                         dict(segment=[8.0, 12.0], score=0.2)],
        'vid__w000016': [dict(segment=[0.5, 2.5], score=0.8)],
    }
    out = stitch_window_proposals(windows, results, max_per_video=10)
    segs, scores = out['vid']
    np.testing.assert_allclose(segs[0], [3.0, 5.0])
    assert scores[0] == pytest.approx(0.9)
    # the duplicate is decayed by Soft-NMS, the late one clipped to the video
    assert scores[1] < 0.8 * 0.1 + 1e-6 or not np.allclose(segs[1], [3, 5])
    assert segs.max() <= 10.0
    with pytest.raises(KeyError, match='other__w000000'):
        stitch_window_proposals(windows, {'other__w000000': []})


def test_split_train_test_stitch_evaluate_on_real_i3d_samples(
        shared_data, tmp_path, capsys):
    """The whole THUMOS14 route on the two real I3D samples: windows ->
    MMAction2's BMN pipeline -> BMN + RCL -> stitched detections ->
    tools/eval_detection.py."""
    samples = shared_data / 'real_i3d_samples'
    out = tmp_path / 'windows'
    for split in ('train', 'test'):
        assert tool.main(['split', '--ann', str(samples / 'annotations.json'),
                          '--features', str(samples), '--out',
                          str(out / split), '--window', '32',
                          '--subset-map', f'Test={split}']) == 0
    cfg = Config.fromfile(str(
        REPO / 'configs/rcl/bmn-rcl_i3d-feat_1xb16-10e_thumos14-window128.py'))
    cfg.model.update(temporal_dim=32, hidden_dim_1d=16, hidden_dim_2d=8,
                     hidden_dim_3d=16)
    cfg.model.rcl_head.update(feat_channels=8, embed_channels=16,
                              num_refine_queries=32)
    cfg.model.rcl_head.refine.update(hidden_channels=8, num_iters=2)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    feat_dir = dict(video=str(out / 'train' / 'csv_window32'))
    train = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                ann_file=str(out / 'train' /
                                             'anet_anno_train.json'),
                                data_prefix=feat_dir))
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    model.train()
    losses = model.train_step(
        pseudo_collate([train[i] for i in range(len(train))]), optim)
    assert all(torch.isfinite(v) for v in losses.values())

    test = DATASETS.build(dict(
        cfg.test_dataloader.dataset,
        ann_file=str(out / 'test' / 'anet_anno_test.json'),
        data_prefix=dict(video=str(out / 'test' / 'csv_window32'))))
    model.eval()
    from mmaction.evaluation import ANetMetric
    dump = tmp_path / 'results.json'
    metric = ANetMetric(metric_type='TEM',
                        dump_config=dict(out=str(dump), output_format='json'))
    for i in range(len(test)):
        batch = pseudo_collate([test[i]])
        metric.process(batch, model.test_step(batch))
    metric.compute_metrics(metric.results)

    classifier = tmp_path / 'video_scores.json'
    classifier.write_text(json.dumps(dict(
        results={'highjump': [0.9, 0.1], 'tennis26': [0.2, 0.8]},
        **{'class': ['HighJump', 'TennisSwing']})))
    detections = tmp_path / 'detections.json'
    assert tool.main(['stitch', '--windows',
                      str(out / 'test' / 'anet_anno_test.json'), '--results',
                      str(dump), '--classifier', str(classifier),
                      '--out', str(detections)]) == 0
    res = json.loads(detections.read_text())['results']
    assert set(res) == {'highjump', 'tennis26'}
    durations = {'highjump': 24.0, 'tennis26': 11.0}
    for video, dets in res.items():
        assert 0 < len(dets) <= 200
        assert all(0 <= d['segment'][0] < d['segment'][1] <= durations[video]
                   for d in dets)
        assert {d['label'] for d in dets} <= {'HighJump', 'TennisSwing'}
    # the best detections carry each video's top class
    assert res['highjump'][0]['label'] == 'HighJump'
    assert res['tennis26'][0]['label'] == 'TennisSwing'
    # the stitched detections are scored against the videos' annotation
    import eval_detection
    metrics = tmp_path / 'metrics.json'
    assert eval_detection.main(['--gt', str(samples / 'annotations.json'),
                                '--pred', str(detections), '--subset',
                                'Test', '--out', str(metrics)]) == 0
    n = sum(len(d) for d in res.values())
    assert f'2 videos, {n} predictions' in capsys.readouterr().out
    assert json.loads(metrics.read_text())


def test_bad_input_is_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / 'results.json'
    bad.write_text('{"no results": 1}')
    windows = tmp_path / 'w.json'
    windows.write_text('{}')
    assert tool.main(['stitch', '--windows', str(windows), '--results',
                      str(bad), '--out', str(tmp_path / 'o.json')]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]


def test_an_annotation_without_segment_names_video_and_index():
    db, feats = one_video()
    db['database']['vid']['annotations'].append(dict(label='a'))
    with pytest.raises(KeyError, match=r'vid\\?., annotation 1'):
        split_into_windows(db, feats, subset_map={'Test': 'test'})


def test_window_settings_that_would_lose_snippets_or_time_are_refused():
    db, feats = one_video()
    with pytest.raises(ValueError, match='stride'):
        split_into_windows(db, feats, window=8, stride=9,
                           subset_map={'Test': 'test'})
    with pytest.raises(ValueError, match='multiple of 16'):
        split_into_windows(db, feats, window=50, feat_stride=4,
                           subset_map={'Test': 'test'})


def test_an_instance_longer_than_the_window_covers_it():
    db, feats = one_video(num_snippets=400, segments=[(2.0, 40.0)])
    entries, _ = split_into_windows(db, feats, window=32, stride=32,
                                    feat_stride=FS, num_frames=NF,
                                    subset_map={'Test': 'test'})
    span = 32 * FS / FPS
    inside = [e for e in entries.values()
              if 2.0 <= e['offset_second'] and
              e['offset_second'] + span <= 40.0]
    assert inside and all(e['annotations'][0]['segment'] ==
                          pytest.approx([0.0, span]) for e in inside)


def test_split_skips_and_reports_videos_without_features(tmp_path, capsys):
    db, feats = one_video()
    db['database']['other'] = dict(db['database']['vid'])
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(db))
    np.save(tmp_path / 'vid.npy', feats['vid'])
    assert tool.main(['split', '--ann', str(ann), '--features',
                      str(tmp_path), '--out', str(tmp_path / 'w'),
                      '--window', '32', '--subset-map', 'Test=test']) == 0
    assert "1 video(s) without features skipped, e.g. ['other']" in \
        capsys.readouterr().err
    windows = json.loads((tmp_path / 'w' / 'anet_anno_test.json').read_text())
    assert {e['video'] for e in windows.values()} == {'vid'}


@pytest.mark.parametrize('field,value,match', [
    ('duration', 0.0, 'duration must be > 0'),
    ('fps', -30.0, 'fps must be > 0'),
])
def test_a_bad_duration_or_fps_names_the_video(field, value, match):
    db, feats = one_video()
    db['database']['vid'][field] = value
    with pytest.raises(ValueError, match=f"'vid'.*{match}"):
        split_into_windows(db, feats, subset_map={'Test': 'test'})
