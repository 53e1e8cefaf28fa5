"""The sparse feature model and the benchmark family of presets."""
import json

import numpy as np
import pytest

from mmtal_zoom.datasets.generators import (FAMILY, PRESETS, generate_database,
                                            generate_sparse_database,
                                            make_embedded_dataset,
                                            preset_kwargs)
from mmtal_zoom.datasets.generators.anet_format import write_anet_from_tal
from mmtal_zoom.datasets.generators.sparse import (SparseFeatureModel,
                                                   _SparseClasses)
from mmtal_zoom.datasets.generators.synthetic import feature_stats
from mmtal_zoom.structures.time_grid import seconds_to_grid


def small_sparse(seed=0, **model):
    return generate_sparse_database(
        num_videos=dict(train=10, test=4), num_classes=6, feat_dim=48,
        duration_range=(20.0, 60.0), seed=seed, model=model or None)


def test_sparse_model_is_deterministic_and_i3d_like():
    db, feats = small_sparse(0)
    db2, feats2 = small_sparse(0)
    assert json.dumps(db, sort_keys=True) == json.dumps(db2, sort_keys=True)
    for v in feats:
        np.testing.assert_array_equal(feats[v], feats2[v])
    _, feats3 = small_sparse(1)
    assert not np.array_equal(feats['video_train_0000'],
                              feats3['video_train_0000'])
    st = feature_stats(list(feats.values()))
    assert min(f.min() for f in feats.values()) >= 0
    assert 0.1 < st['mean'] < 0.25 and 0.005 < st['zero_frac'] < 0.15
    assert 0.4 < st['lag1_autocorr'] < 0.7  # AR(1) rho 0.55


def test_sparse_class_signal_and_confusable_pairs():
    m = SparseFeatureModel(sparsity=0.25, pair_fraction=1.0, pair_share=0.5)
    P = _SparseClasses(0, 4, 40, [(0, 1), (2, 3)], m)
    support = (P.approach != 0) | (P.execution != 0)
    assert (support.sum(1) == 10).all()  # a quarter of the channels
    # a pair shares half of its support, other classes little
    shared01 = (support[0] & support[1]).sum()
    shared02 = (support[0] & support[2]).sum()
    assert shared01 == 5 and shared02 < 5
    common = support[0] & support[1]
    np.testing.assert_array_equal(P.approach[0][common],
                                  P.approach[1][common])


def test_sparse_signal_is_where_the_annotations_are():
    """Inside instances the class's support channels rise above the
    background; with noise and distractors off, outside they do not."""
    db, feats = small_sparse(0, noise_std=0.0, distractor_rate=0.0,
                             scene_std=0.0, negative_fraction=0.0)
    rise_in, rise_out = [], []
    for v, e in db['database'].items():
        x = feats[v]
        base = np.median(x, axis=0)
        inside = np.zeros(len(x), bool)
        for a in e['annotations']:
            s, t = (seconds_to_grid(u, e['fps'], 4, 16) for u in a['segment'])
            inside[max(int(np.ceil(s)), 0):int(t) + 1] = True
        d = (x - base).mean(1)
        rise_in.append(d[inside].mean())
        rise_out.append(np.abs(d[~inside]).mean())
    assert np.mean(rise_in) > 5 * np.mean(rise_out)


def test_family_presets_are_valid():
    assert set(FAMILY) <= set(PRESETS) and 'default' in FAMILY
    assert 'tiny' in PRESETS and 'tiny' not in FAMILY
    dims = set()
    for name in FAMILY:
        kw = PRESETS[name]
        assert kw['generator'] in ('latent', 'sparse')
        assert set(kw['num_videos']) == {'train', 'val', 'test'}
        dims.add(kw['feat_dim'])
    # the family varies what a config could have been tuned to
    assert {256, 1024, 2048} <= dims
    assert PRESETS['anet-style']['num_videos']['train'] >= 200
    with pytest.raises(ValueError, match='unknown preset'):
        preset_kwargs('nope')


def test_anet_style_timings():
    kw = preset_kwargs('anet-style')
    kw.update(num_videos=dict(train=120), feat_dim=4)
    db, _ = generate_database(**kw)
    per_video, frac = [], []
    for e in db['database'].values():
        per_video.append(len(e['annotations']))
        frac += [(a['segment'][1] - a['segment'][0]) / e['duration']
                 for a in e['annotations']]
    assert 1.2 < np.mean(per_video) < 1.9  # ActivityNet 1.3: 1.5
    assert 0.12 < np.mean(np.array(frac) < 0.1) < 0.4  # a quarter short
    assert db['generator']['feat_stride'] == 16


def test_real_timings_max_duration(shared_data):
    kw = preset_kwargs('thumos-sparse')
    kw.update(num_videos=dict(train=3, val=2, test=3), feat_dim=8)
    db, feats = generate_database(**kw)
    subsets = sorted(e['subset'] for e in db['database'].values())
    assert subsets == ['test'] * 3 + ['train'] * 3 + ['val'] * 2
    assert all(e['duration'] <= 240 for e in db['database'].values())
    assert db['generator']['num_classes'] == 20
    # every class is in a confusable pair, the real co-occurring ones first
    pairs = db['generator']['confusable_pairs']
    assert ['CricketBowling', 'CricketShot'] in pairs and len(pairs) == 10


def test_a_preset_takes_real_timings_from_a_given_file(
        shared_data, tmp_path, monkeypatch):
    # the repository's default place is missing: the given file is used
    from mmtal_zoom.datasets.generators import family
    monkeypatch.setattr(family, 'THUMOS14_TIMINGS',
                        str(tmp_path / 'absent.json'))
    with pytest.raises(FileNotFoundError, match='thumos-sparse'):
        preset_kwargs('thumos-sparse')
    given = str(shared_data / 'thumos14' / 'thumos14.json')
    assert preset_kwargs('thumos-sparse', given)['timings'] == given


def test_make_family_preset_and_bmn_layout(tmp_path):
    ann = make_embedded_dataset(str(tmp_path / 'tal'), preset='anet-style',
                                num_videos=dict(train=3, val=1, test=2),
                                feat_dim=6)
    db = json.loads(open(ann).read())
    assert db['generator']['preset'] == 'anet-style'
    assert db['generator']['name'] == 'mmtal_zoom.sparse'
    # kept when asked again, refused for another request
    assert make_embedded_dataset(str(tmp_path / 'tal'), preset='anet-style',
                                 num_videos=dict(train=3, val=1, test=2),
                                 feat_dim=6) == ann
    with pytest.raises(FileExistsError):
        make_embedded_dataset(str(tmp_path / 'tal'), preset='long-1024')
    paths = write_anet_from_tal(str(tmp_path / 'tal'), str(tmp_path / 'bmn'),
                                temporal_scale=10)
    train = json.loads(open(paths['train']).read())
    assert len(train) == 3 and all(v.startswith('v_') for v in train)
    rows = open(tmp_path / 'bmn' / 'csv_mean_10' /
                (next(iter(train)) + '.csv')).read().splitlines()
    assert rows[0].split(',') == [f'f{i}' for i in range(6)]
    assert len(rows) == 11
