"""TALFeatureDataset: annotation parsing, subsets, classes, errors, real
features, and batching with the stock collate + TALDataPreprocessor."""
import json

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmaction.registry import DATASETS, MODELS
from mmaction.structures import ActionDataSample

FPS, STRIDE, NF = 30.0, 4, 16


def n_snip(duration):
    return int((duration * FPS - NF) // STRIDE) + 1


def make_dataset_dir(root, videos=None, suffix='.npy', dim=8):
    """Write an annotation file and features; return (ann_file, feat_dir)."""
    if videos is None:
        videos = {
            'v_a': ('Validation', 20.0, [('Jump', 2.0, 5.0, 7),
                                         ('Throw', 10.0, 12.0, 3)]),
            'v_b': ('Validation', 16.0, [('Throw', 1.0, 4.0, 3)]),
            'v_c': ('Test', 12.0, [('Jump', 3.0, 6.5, 7)]),
            'v_empty': ('Validation', 10.0, []),
        }
    db = {}
    feat_dir = root / 'features'
    feat_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, (subset, dur, anns) in videos.items():
        db[name] = dict(
            subset=subset, duration=dur, fps=FPS,
            annotations=[dict(label=lab, segment=[s, e], label_id=lid)
                         for lab, s, e, lid in anns])
        x = rng.random((n_snip(dur), dim)).astype(np.float32)
        if suffix == '.npy':
            np.save(feat_dir / f'{name}.npy', x)
        else:
            torch.save(torch.from_numpy(x), feat_dir / f'{name}.pt')
    ann = root / 'ann.json'
    ann.write_text(json.dumps(dict(version='test', database=db)))
    return str(ann), str(feat_dir)


def build(ann, feat_dir, **kw):
    cfg = dict(type='TALFeatureDataset', ann_file=ann,
               data_prefix=dict(feature=feat_dir), feat_stride=STRIDE,
               num_frames=NF, default_fps=FPS)
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_data_list_fields_subsets_and_class_order(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    ds = build(ann, fd, subset='Validation')
    # classes ordered by label_id (Throw=3 before Jump=7), not by name
    assert ds.metainfo['classes'] == ('Throw', 'Jump')
    names = [ds.get_data_info(i)['video_name'] for i in range(len(ds))]
    assert names == ['v_a', 'v_b']  # v_empty filtered, v_c other subset
    info = ds.get_data_info(0)
    assert info['gt_segments'].dtype == np.float32
    assert info['gt_segments'].shape == (2, 2)
    assert info['gt_labels'].dtype == np.int64
    assert info['gt_labels'].tolist() == [1, 0]
    assert info['duration'] == 20.0 and info['fps'] == FPS
    assert info['feat_stride'] == STRIDE and info['num_frames'] == NF
    assert info['feature_path'].endswith('v_a.npy')

    both = build(ann, fd, subset=['Validation', 'Test'])
    assert len(both) == 3
    # classes come from the whole file, so every split agrees
    test_only = build(ann, fd, subset='Test')
    assert test_only.metainfo['classes'] == ('Throw', 'Jump')
    assert len(build(ann, fd)) == 3  # subset=None: every video


def test_filter_empty_gt_and_test_mode(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    assert len(build(ann, fd, subset='Validation',
                     filter_empty_gt=False)) == 3
    assert len(build(ann, fd, subset='Validation', test_mode=True)) == 3


def test_given_classes_and_unknown_label(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    ds = build(ann, fd, classes=['Jump', 'Throw', 'Other'])
    assert ds.metainfo['classes'] == ('Jump', 'Throw', 'Other')
    assert ds.get_data_info(0)['gt_labels'].tolist() == [0, 1]
    with pytest.raises(ValueError, match=r'v_a.*"Throw".*not in classes'):
        build(ann, fd, classes=['Jump'])


def test_pt_features_and_explicit_suffix(tmp_path):
    ann, fd = make_dataset_dir(tmp_path, suffix='.pt')
    ds = build(ann, fd, subset='Test',
               pipeline=[dict(type='LoadTALFeatures', feat_dim=8),
                         dict(type='PackTALInputs')])
    assert ds.get_data_info(0)['feature_path'].endswith('v_c.pt')
    out = ds[0]
    assert out['inputs'].dtype == torch.float32
    assert out['inputs'].shape == (8, n_snip(12.0))
    with pytest.raises(FileNotFoundError, match='v_c'):
        build(ann, fd, subset='Test', feature_suffix='.npy')


def test_missing_feature_file_names_video_and_path(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    (tmp_path / 'features' / 'v_b.npy').unlink()
    with pytest.raises(FileNotFoundError) as e:
        build(ann, fd, subset='Validation')
    assert '"v_b"' in str(e.value) and 'v_b.npy' in str(e.value)
    # check_features=False defers it to the loader, which names the file
    ds = build(ann, fd, subset='Validation', check_features=False,
               pipeline=[dict(type='LoadTALFeatures')])
    with pytest.raises(FileNotFoundError, match='v_b.npy'):
        ds[1]


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        build(str(tmp_path / 'nope.json'), str(tmp_path))


@pytest.mark.parametrize('mutate, field', [
    (lambda d: d.pop('database'), '"database"'),
    (lambda d: d['database']['v'].pop('duration'), '"duration"'),
    (lambda d: d['database']['v'].pop('subset'), '"subset"'),
    (lambda d: d['database']['v'].update(duration=-1), '"duration"'),
    (lambda d: d['database']['v'].update(annotations={}), '"annotations"'),
    (lambda d: d['database']['v']['annotations'][0].update(segment=[1.0]),
     '"segment"'),
    (lambda d: d['database']['v']['annotations'][0].update(segment=[3, 1]),
     'ends before it starts'),
    (lambda d: d['database']['v']['annotations'][0].pop('label') and
     d['database']['v']['annotations'][0].pop('label_id'), '"label"'),
])
def test_bad_json_structure_names_the_field(tmp_path, mutate, field):
    d = dict(database=dict(v=dict(
        subset='train', duration=10.0, fps=30.0,
        annotations=[dict(label='A', segment=[1.0, 2.0], label_id=0)])))
    mutate(d)
    ann = tmp_path / 'a.json'
    ann.write_text(json.dumps(d))
    with pytest.raises(ValueError) as e:
        build(str(ann), str(tmp_path), check_features=False)
    assert field in str(e.value)
    assert 'a.json' in str(e.value)


# Issue 15, defect 3: what the validator rejects, the dataset rejects at
# load, naming the file, the video and the field. Raw JSON text, so that
# NaN / Infinity and repeated keys reach the parser as users write them.
_GOOD_ENTRY = ('{"subset": "train", "duration": 10.0, "fps": 30.0, '
               '"annotations": [{"label": "A", "segment": [1.0, 2.0], '
               '"label_id": 0}]}')


@pytest.mark.parametrize('text, needles', [
    (_GOOD_ENTRY.replace('[1.0, 2.0]', '[NaN, 2.0]'), ['"segment"', 'nan']),
    (_GOOD_ENTRY.replace('[1.0, 2.0]', '[1.0, Infinity]'), ['"segment"']),
    (_GOOD_ENTRY.replace('"fps": 30.0', '"fps": Infinity'), ['"fps"']),
    (_GOOD_ENTRY.replace('"fps": 30.0', '"fps": NaN'), ['"fps"']),
    (_GOOD_ENTRY.replace('"duration": 10.0', '"duration": NaN'),
     ['"duration"']),
    (_GOOD_ENTRY.replace('[1.0, 2.0]', '"15"'), ['"segment"', "'15'"]),
    (_GOOD_ENTRY.replace('[1.0, 2.0]', '[2.0, 1.0]'),
     ['ends before it starts']),
    (_GOOD_ENTRY.replace('"label": "A"', '"label": null'), ['"label"']),
    (_GOOD_ENTRY.replace('"fps": 30.0', '"fps": "30"'), ['"fps"']),
])
def test_non_finite_and_malformed_fields_name_video_and_field(
        tmp_path, text, needles):
    ann = tmp_path / 'a.json'
    ann.write_text('{"database": {"vid_1": ' + text + '}}')
    with pytest.raises(ValueError) as e:
        build(str(ann), str(tmp_path), check_features=False)
    msg = str(e.value)
    assert 'a.json' in msg and 'vid_1' in msg and '\n' not in msg
    for needle in needles:
        assert needle in msg, msg


def test_duplicate_video_key_and_bad_encoding(tmp_path):
    ann = tmp_path / 'a.json'
    ann.write_text('{"database": {"vid_1": ' + _GOOD_ENTRY + ', "vid_1": '
                   + _GOOD_ENTRY + '}}')
    with pytest.raises(ValueError, match='a.json.*"vid_1" appears twice'):
        build(str(ann), str(tmp_path), check_features=False)
    ann.write_bytes(('{"database": {"vid_\u00e9": ' + _GOOD_ENTRY
                     + '}}').encode('latin-1'))
    with pytest.raises(ValueError, match='a.json is not utf-8 text'):
        build(str(ann), str(tmp_path), check_features=False)


@pytest.mark.parametrize('write, needle', [
    (lambda p, x: p.write_bytes(b''), 'empty feature file'),
    (lambda p, x: (np.save(p, x), p.write_bytes(p.read_bytes()[:-40])),
     'truncated'),
    (lambda p, x: np.save(p, x.astype(np.complex64)), 'real numbers'),
    (lambda p, x: np.save(p, x.astype(bool)), 'real numbers'),
    (lambda p, x: np.save(p, x[None]), 'shape (T, C)'),
    (lambda p, x: np.save(p, x[:, :4]), '4-d features'),
])
def test_broken_feature_files_named_at_build(tmp_path, write, needle):
    ann, fd = make_dataset_dir(tmp_path)
    path = tmp_path / 'features' / 'v_b.npy'
    write(path, np.load(path))
    with pytest.raises(ValueError) as e:
        build(ann, fd, subset='Validation')
    assert 'v_b.npy' in str(e.value) and needle in str(e.value), e.value


@pytest.mark.parametrize('value', [np.nan, np.inf])
def test_non_finite_features_named_at_load(tmp_path, value):
    ann, fd = make_dataset_dir(tmp_path)
    path = tmp_path / 'features' / 'v_c.npy'
    x = np.load(path)
    x[3, 2] = value
    np.save(path, x)
    ds = build(ann, fd, subset='Test', pipeline=[dict(type='LoadTALFeatures')])
    with pytest.raises(ValueError, match='v_c.npy.*non-finite'):
        ds[0]


def test_unknown_subset_and_conflicting_label_ids(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    with pytest.raises(ValueError, match=r"\['training'\] not found"):
        build(ann, fd, subset='training')
    ann2, fd2 = make_dataset_dir(tmp_path / 'b', videos={
        'x': ('train', 10.0, [('A', 1.0, 2.0, 0), ('A', 3.0, 4.0, 1)])})
    with pytest.raises(ValueError, match='"A" has label_id 0 and 1'):
        build(ann2, fd2)


def test_feature_headers_checked_at_build_data_read_lazily(tmp_path):
    """Building reads each .npy header only (a broken file is named at
    once); the data are read when a sample is loaded."""
    ann, fd = make_dataset_dir(tmp_path)
    (tmp_path / 'features' / 'v_c.npy').write_bytes(b'not an npy file')
    with pytest.raises(ValueError, match='v_c.npy.*not a valid .npy'):
        build(ann, fd, subset='Test', pipeline=[])
    ds = build(ann, fd, subset='Test', check_features=False,
               pipeline=[dict(type='LoadTALFeatures')])
    assert len(ds) == 1  # building did not read the file
    with pytest.raises(ValueError, match='v_c.npy'):
        ds[0]


def test_stock_dataloader_collate_and_preprocessor(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    ds = build(ann, fd, subset=['Validation', 'Test'],
               pipeline=[dict(type='LoadTALFeatures'),
                         dict(type='PackTALInputs')])
    lengths = [n_snip(ds.get_data_info(i)['duration'])
               for i in range(len(ds))]
    assert len(set(lengths)) == 3  # variable lengths
    loader = DataLoader(ds, batch_size=3, shuffle=False,
                        collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert isinstance(batch['inputs'], list)
    assert [x.shape[-1] for x in batch['inputs']] == lengths
    assert all(isinstance(s, ActionDataSample) for s in batch['data_samples'])
    pre = MODELS.build(dict(type='TALDataPreprocessor', pad_size_divisor=8))
    out = pre(batch)
    T = max(lengths)
    T_pad = -(-T // 8) * 8
    assert out['inputs'].shape == (3, 8, T_pad)
    assert out['masks'].dtype == torch.bool
    assert out['masks'].sum(1).tolist() == lengths
    for i, x in enumerate(batch['inputs']):
        torch.testing.assert_close(out['inputs'][i, :, :lengths[i]], x)
        assert out['inputs'][i, :, lengths[i]:].abs().sum() == 0
    segs = out['data_samples'][0].gt_instances.segments
    assert segs.shape == (2, 2) and segs.dtype == torch.float32
    # training: padded to max_seq_len
    pre_t = MODELS.build(dict(type='TALDataPreprocessor', max_seq_len=160))
    assert pre_t(batch, True)['inputs'].shape == (3, 8, 160)


def test_real_i3d_samples(shared_data):
    root = shared_data / 'real_i3d_samples'
    ds = DATASETS.build(dict(
        type='TALFeatureDataset', ann_file=str(root / 'annotations.json'),
        data_prefix=dict(feature=str(root)), subset='Test', test_mode=True,
        pipeline=[dict(type='LoadTALFeatures', feat_dim=2048),
                  dict(type='PackTALInputs')]))
    assert ds.metainfo['classes'] == ('HighJump', 'TennisSwing')
    by_name = {}
    for i in range(len(ds)):
        out = ds[i]
        by_name[out['data_samples'].video_name] = out
    hj, tn = by_name['highjump'], by_name['tennis26']
    assert hj['inputs'].shape == (2048, 164)
    assert tn['inputs'].shape == (2048, 89)
    assert hj['inputs'].dtype == torch.float32
    assert (hj['inputs'] >= 0).all()
    s = tn['data_samples']
    assert s.gt_instances.labels.tolist() == [1, 1, 1]
    # grid = (t * fps - num_frames / 2) / stride: 2.0 s -> 13.0
    assert s.gt_instances.segments[0].tolist() == pytest.approx([13.0, 28.0])
    np.testing.assert_allclose(s.eval_gt_segments[0], [2.0, 4.0])
