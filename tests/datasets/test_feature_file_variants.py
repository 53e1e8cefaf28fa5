"""Feature files as they are released: a file-name template, ``.npz`` with
a key, several folders concatenated along channels, a missing-videos list,
and a declared (C, T) layout. The defaults stay as before."""
import os
import os.path as osp

import numpy as np
import pytest
from test_tal_feature_dataset import build, make_dataset_dir

import mmtal_zoom.datasets.tal_feature_dataset as tfd

PIPE = [dict(type='LoadTALFeatures')]


def feats_of(fd, video):
    return np.load(osp.join(fd, f'{video}.npy'))


def relayout(fd, new_dir, fn):
    """Write every ``<video>.npy`` of ``fd`` to ``new_dir`` via ``fn(path,
    video, array)``."""
    new_dir.mkdir(exist_ok=True)
    for name in ('v_a', 'v_b', 'v_c', 'v_empty'):
        fn(new_dir, name, feats_of(fd, name))
    return str(new_dir)


def test_default_entries_unchanged(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    info = build(ann, fd).get_data_info(0)
    assert sorted(info) == sorted([
        'video_name', 'feature_path', 'subset', 'duration', 'fps',
        'feat_stride', 'num_frames', 'gt_segments', 'gt_labels',
        'sample_idx'])
    assert info['feature_path'] == osp.join(fd, 'v_a.npy')


def test_template_npz_key_and_ct_layout(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    npz = relayout(fd, tmp_path / 'npz', lambda d, v, x: np.savez(
        d / f'pre_{v}.npz', feats=x.T, other=np.zeros(3)))
    ds = build(ann, npz, subset='Test', pipeline=PIPE,
               feature_template='pre_{video}.npz', feature_key='feats',
               feature_layout='CT')
    out = ds[0]
    assert out['inputs'].shape == (8, feats_of(fd, 'v_c').shape[0])
    np.testing.assert_array_equal(out['inputs'], feats_of(fd, 'v_c').T)
    # a key the files lack is named with the file, at build
    with pytest.raises(ValueError, match="pre_v_c.npz.*feature_key='nope'"):
        build(ann, npz, subset='Test', feature_template='pre_{video}.npz',
              feature_key='nope')


def test_template_npy_ct_matches_default(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    ct = relayout(fd, tmp_path / 'ct', lambda d, v, x: np.save(
        d / f'v_{v}.npy', x.T))
    ref = build(ann, fd, subset='Test', pipeline=PIPE)[0]['inputs']
    got = build(ann, ct, subset='Test', pipeline=PIPE,
                feature_template='v_{video}.npy', feature_layout='CT',
                )[0]['inputs']
    np.testing.assert_array_equal(got, ref)
    # not declared: the (C, T) file is read as (T, C) and feat_dim catches it
    ds = build(ann, ct, subset='Test', feature_template='v_{video}.npy',
               pipeline=[dict(type='LoadTALFeatures', feat_dim=8)])
    with pytest.raises(ValueError, match='v_v_c.npy.*feature_layout'):
        ds[0]
    # declared (C, T) but the file is (T, C): named with the field
    ds = build(ann, fd, subset='Test', feature_layout='CT',
               pipeline=[dict(type='LoadTALFeatures', feat_dim=8,
                              length_tolerance=None)])
    with pytest.raises(ValueError, match="v_c.npy.*feature_layout='CT'"):
        ds[0]
    with pytest.raises(ValueError, match='feature_layout'):
        build(ann, fd, feature_layout='guess')


def test_non_finite_npz_named(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)

    def write(d, v, x):
        x = x.copy()
        x[1, 1] = np.nan
        np.savez(d / f'{v}.npz', feats=x)
    npz = relayout(fd, tmp_path / 'npz', write)
    ds = build(ann, npz, subset='Test', pipeline=PIPE,
               feature_template='{video}.npz')
    with pytest.raises(ValueError, match='v_c.npz.*non-finite'):
        ds[0]


def test_two_folders_concatenated_and_t_mismatch(tmp_path):
    ann, fd = make_dataset_dir(tmp_path)
    flow = relayout(fd, tmp_path / 'flow', lambda d, v, x: np.save(
        d / f'{v}.npy', 2 * x[:, :3]))
    ds = build(ann, [fd, flow], subset='Test', pipeline=PIPE)
    out = ds[0]
    x = feats_of(fd, 'v_c')
    np.testing.assert_array_equal(
        out['inputs'], np.concatenate([x, 2 * x[:, :3]], 1).T)
    # a shorter stream: error naming the video and both folders
    np.save(osp.join(flow, 'v_c.npy'), x[:-5, :3])
    with pytest.raises(ValueError, match='v_c.*disagree in T') as e:
        build(ann, [fd, flow], subset='Test', pipeline=PIPE)[0]
    assert fd in str(e.value) and flow in str(e.value)
    # declared resampling: the longer T, shorter one interpolated
    ds = build(ann, [fd, flow], subset='Test', pipeline=[
        dict(type='LoadTALFeatures', resample_to_longest=True)])
    out = ds[0]
    assert out['inputs'].shape == (11, x.shape[0])
    np.testing.assert_allclose(out['inputs'][8:, 0], x[0, :3])
    np.testing.assert_allclose(out['inputs'][8:, -1], x[-6, :3])


def test_missing_videos_list(tmp_path, monkeypatch):
    ann, fd = make_dataset_dir(tmp_path)
    for v in ('v_a', 'v_b'):
        os.remove(osp.join(fd, f'{v}.npy'))
    listing = tmp_path / 'missing.txt'
    listing.write_text('v_a  # not released\nv_b\n\n')
    logged = []
    monkeypatch.setattr(tfd, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    ds = build(ann, fd, filter_empty_gt=False,
               missing_videos_file=str(listing))
    names = [ds.get_data_info(i)['video_name'] for i in range(len(ds))]
    assert names == ['v_c', 'v_empty']
    assert len(logged) == 1
    assert 'skipped 2 video(s)' in logged[0] and str(listing) in logged[0]
    # a video missing without being listed is still an error naming it
    listing.write_text('v_a\n')
    with pytest.raises(FileNotFoundError, match='"v_b".*not listed'):
        build(ann, fd, missing_videos_file=str(listing))
