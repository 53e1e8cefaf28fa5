"""The embedded dataset generator, its CLI and the linear-probe report."""
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmaction.registry import DATASETS
from mmtal_zoom.datasets.generators import (feature_stats,
                                            generate_synthetic_database,
                                            make_embedded_dataset,
                                            preset_kwargs, write_tal_dataset)
from mmtal_zoom.datasets.generators.synthetic import num_snippets, sample_kappa

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_tool(rel):
    spec = importlib.util.spec_from_file_location(
        rel.replace('/', '_')[:-3], REPO_ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tiny_kwargs():
    kwargs = preset_kwargs('tiny')
    assert kwargs.pop('generator') == 'latent'
    return kwargs


@pytest.fixture(scope='module')
def tiny():
    return generate_synthetic_database(**tiny_kwargs(), seed=0)


def test_deterministic_by_seed(tiny):
    db, feats = tiny
    db2, feats2 = generate_synthetic_database(**tiny_kwargs(), seed=0)
    assert json.dumps(db, sort_keys=True) == json.dumps(db2, sort_keys=True)
    for v in feats:
        np.testing.assert_array_equal(feats[v], feats2[v])
    db3, feats3 = generate_synthetic_database(**tiny_kwargs(), seed=1)
    v = 'video_train_0000'
    assert db3['database'][v] != db['database'][v]


def test_video_does_not_depend_on_how_many_are_generated(tiny):
    db, feats = tiny
    db1, feats1 = generate_synthetic_database(
        **{**tiny_kwargs(), 'num_videos': dict(train=2)}, seed=0)
    assert sorted(feats1) == ['video_train_0000', 'video_train_0001']
    for v in feats1:
        np.testing.assert_array_equal(feats1[v], feats[v])
        assert db1['database'][v] == db['database'][v]


def test_structure_subsets_and_grid(tiny):
    db, feats = tiny
    assert set(db) >= {'version', 'database'}
    subsets = [e['subset'] for e in db['database'].values()]
    assert {s: subsets.count(s) for s in set(subsets)} == dict(
        train=12, val=4, test=4)
    for v, e in db['database'].items():
        x = feats[v]
        assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 32
        assert x.shape[0] == num_snippets(e['duration'], e['fps'], 4, 16)
        assert 10 <= e['duration'] <= 24 and e['fps'] == 30.0
        assert len(e['annotations']) >= 1
        for a in e['annotations']:
            s, t = a['segment']
            assert 0 <= s < t <= e['duration']
            assert a['label'] == f'action{a["label_id"]:02d}'
            assert a['segment(frames)'] == pytest.approx([s * 30, t * 30])
            assert all(0.8 <= k <= 6.2 for k in a['boundary_kappa'])
    assert db['generator']['num_classes'] == 4


def test_kappa_distribution():
    k = sample_kappa(np.random.default_rng(0), 20000)
    assert k.min() >= 0.8 and k.max() <= 6.2
    fr = [np.mean(k < 2), np.mean((k >= 2) & (k <= 4)), np.mean(k > 4)]
    np.testing.assert_allclose(fr, [0.32, 0.40, 0.28], atol=0.02)
    assert 2.6 < np.median(k) < 3.3  # Temporal Zoom Fig. 4: median 3.1


def test_timings_look_like_thumos14():
    db, _ = generate_synthetic_database(
        num_videos=dict(train=120), num_classes=10, feat_dim=4,
        duration_range=(30.0, 120.0), seed=3)
    lens, per_video, overlaps, pairs, two_class = [], [], 0, 0, 0
    for e in db['database'].values():
        segs = sorted(a['segment'] for a in e['annotations'])
        lens += [t - s for s, t in segs]
        per_video.append(len(segs))
        overlaps += sum(b[0] < a[1] for a, b in zip(segs, segs[1:]))
        pairs += max(len(segs) - 1, 0)
        two_class += len({a['label'] for a in e['annotations']}) > 1
    lens = np.array(lens)
    assert 2.2 < np.median(lens) < 4.0  # THUMOS14: 3.0 s
    assert 0.55 < np.mean(lens < 5) < 0.85  # 68%
    assert np.mean(lens < 10) > 0.85  # 94%
    assert 3 < np.mean(per_video) < 10  # several per video
    assert 0.02 < overlaps / pairs < 0.2  # THUMOS14: 9%
    assert 0.05 < two_class / 120 < 0.35  # confusable-pair videos


def test_marginal_statistics_are_calibrated():
    _, feats = generate_synthetic_database(
        num_videos=dict(train=8), feat_dim=256, seed=0)
    st = feature_stats(list(feats.values()))
    x = np.concatenate(list(feats.values()))
    assert x.min() >= 0
    assert 0.01 < st['zero_frac'] < 0.12  # real: 3-8%
    assert 0.12 < st['mean'] < 0.22  # real: 0.15-0.24
    assert 0.14 < st['std'] < 0.27  # real: 0.19-0.26
    assert st['median'] < st['mean']  # right-skewed like post-ReLU I3D
    assert 0.4 < st['lag1_autocorr'] < 0.65  # real: 0.47-0.63


def test_calibration_against_real_features(shared_data):
    real = [np.load(shared_data / 'real_i3d_samples' / f'{n}.npy')
            for n in ('highjump', 'tennis26')]
    _, feats = generate_synthetic_database(
        num_videos=dict(train=8), feat_dim=256, seed=0)
    r, g = feature_stats(real), feature_stats(list(feats.values()))
    print('\n' + ' '.join(f'{k:>13}' for k in r))
    print(' '.join(f'{v:13.3f}' for v in r.values()), ' real I3D')
    print(' '.join(f'{v:13.3f}' for v in g.values()), ' generated')
    assert abs(g['mean'] - r['mean']) < 0.05
    assert abs(g['std'] - r['std']) < 0.06
    assert abs(g['zero_frac'] - r['zero_frac']) < 0.04
    assert abs(g['lag1_autocorr'] - r['lag1_autocorr']) < 0.1


def test_write_and_read_back_through_the_dataset(tiny, tmp_path):
    db, feats = tiny
    ann = write_tal_dataset(str(tmp_path), db, feats)
    assert not [f for f in os.listdir(tmp_path / 'features')
                if 'tmp' in f]
    ds = DATASETS.build(dict(
        type='TALFeatureDataset', ann_file=ann,
        data_prefix=dict(feature=str(tmp_path / 'features')), subset='train',
        pipeline=[dict(type='LoadTALFeatures', feat_dim=32),
                  dict(type='PackTALInputs')]))
    assert len(ds) == 12
    assert ds.metainfo['classes'] == tuple(f'action{k:02d}' for k in range(4))
    out = ds[0]
    name = out['data_samples'].video_name
    np.testing.assert_array_equal(out['inputs'].numpy(), feats[name].T)


def test_make_embedded_dataset_skips_refuses_and_forces(tmp_path):
    ann = make_embedded_dataset(str(tmp_path), preset='tiny', seed=0)
    mtime = os.path.getmtime(ann)
    assert make_embedded_dataset(str(tmp_path), preset='tiny') == ann
    assert os.path.getmtime(ann) == mtime  # skipped
    with pytest.raises(FileExistsError, match='--force'):
        make_embedded_dataset(str(tmp_path), preset='tiny', seed=1)
    stale = tmp_path / 'features' / 'old_video.npy'
    np.save(stale, np.zeros((2, 2)))
    make_embedded_dataset(str(tmp_path), preset='tiny', seed=1, force=True)
    assert json.loads(open(ann).read())['generator']['seed'] == 1
    assert not stale.exists()
    # a missing feature file means the dataset is regenerated
    os.remove(tmp_path / 'features' / 'video_val_0000.npy')
    make_embedded_dataset(str(tmp_path), preset='tiny', seed=1)
    assert (tmp_path / 'features' / 'video_val_0000.npy').exists()
    # so does output of another generator version / model
    d = json.loads(open(ann).read())
    d['generator']['fingerprint']['version'] = -1
    open(ann, 'w').write(json.dumps(d))
    make_embedded_dataset(str(tmp_path), preset='tiny', seed=1)
    assert json.loads(open(ann).read())['generator']['fingerprint'][
        'version'] != -1
    # an annotation file the generator did not write is never overwritten
    other = tmp_path / 'user'
    other.mkdir()
    (other / 'annotations.json').write_text('{"database": {}}')
    with pytest.raises(FileExistsError):
        make_embedded_dataset(str(other), preset='tiny')


def test_real_thumos14_timings(shared_data):
    path = shared_data / 'thumos14' / 'thumos14.json'
    real = json.loads(path.read_text())['database']
    db, feats = generate_synthetic_database(
        timings=str(path), num_videos=dict(train=2, test=2), feat_dim=16,
        seed=0)
    assert db['generator']['num_classes'] == 20
    assert ['CricketBowling', 'CricketShot'] in \
        db['generator']['confusable_pairs']
    subsets = sorted(e['subset'] for e in db['database'].values())
    assert subsets == ['test', 'test', 'train', 'train']
    for v, e in db['database'].items():
        r = real[v]
        assert {'Validation': 'train', 'Test': 'test'}[r['subset']] == \
            e['subset']
        assert e['duration'] == r['duration']
        assert [a['segment'] for a in e['annotations']] == \
            [a['segment'] for a in r['annotations']]
        assert [a['label_id'] for a in e['annotations']] == \
            [a['label_id'] for a in r['annotations']]
        assert feats[v].shape == (num_snippets(r['duration'], 30.0, 4, 16),
                                  16)
    db_val, _ = generate_synthetic_database(
        timings=str(path), num_videos=dict(train=3, val=3), feat_dim=4,
        val_fraction=0.2, seed=0)
    assert sorted(e['subset'] for e in db_val['database'].values()) == \
        ['train'] * 3 + ['val'] * 3


def test_cli(tmp_path, capsys):
    tool = load_tool('tools/make_synthetic_dataset.py')
    with pytest.raises(SystemExit) as e:
        tool.main(['--help'])
    assert e.value.code == 0
    assert '--timings' in capsys.readouterr().out
    ann = tool.main(['--out', str(tmp_path), '--preset', 'tiny',
                     '--num-videos', 'train=3', 'val=1', '--feat-dim', '8'])
    out = capsys.readouterr().out
    assert 'train' in out and 'boundary kappa' in out
    db = json.loads(open(ann).read())['database']
    assert len(db) == 4
    assert np.load(tmp_path / 'features' / 'video_train_0000.npy').shape[1] \
        == 8


def test_tiny_fixture_and_linear_probe(tiny_tal_dataset, capsys):
    assert (tiny_tal_dataset / 'annotations.json').is_file()
    probe = load_tool('tools/analysis/linear_probe.py')
    res = probe.main([str(tiny_tal_dataset), '--iters', '50'])
    out = capsys.readouterr().out
    assert 'naive_detector' in out and 'command' in out
    assert res['eval_subset'] == 'val'
    assert 0 < res['snippet_accuracy'] <= 1
    m = res['naive_detector']['mAP']
    assert len(m) == 5 and all(0 <= v <= 1 for v in m)
    assert 0 <= res['smoothed_detector_w9']['average_mAP'] <= 1
    # the tiny preset is learnable: the probe fits its training videos
    fit = probe.main([str(tiny_tal_dataset), '--iters', '50',
                      '--eval-subset', 'train', '--smooth', '0'])
    assert fit['action_snippet_accuracy'] > 0.6
    assert fit['naive_detector']['mAP'][0] > 0.2
