"""tools/validate_dataset.py: a broken dataset shows every problem, the real
sample dataset passes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmtal_zoom.datasets.validation import validate_tal_dataset

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))
import cli_helpers  # noqa: E402

TOOL = REPO / 'tools' / 'validate_dataset.py'


def load_tool():
    return cli_helpers.load_tool('validate_dataset')


def ann(label, s, e, label_id=None):
    a = dict(label=label, segment=[s, e])
    if label_id is not None:
        a['label_id'] = label_id
    return a


def video(subset, *annotations, duration=20.0):
    return dict(subset=subset, duration=duration, fps=30.0,
                annotations=list(annotations))


def feats_for(duration, fps=30.0, dim=16, stride=4, nf=16):
    t = max(1, int((duration * fps - nf) // stride + 1))
    return np.random.default_rng(0).random((t, dim), dtype=np.float32)


@pytest.fixture
def broken(tmp_path):
    """One video per problem (names say which)."""
    db = {
        'ok': video('train', ann('Jump', 1.0, 3.0, 0)),
        'missing_features': video('train', ann('Jump', 1.0, 3.0, 0)),
        'wrong_dim': video('train', ann('Jump', 1.0, 3.0, 0)),
        'too_long': video('train', ann('Jump', 1.0, 3.0, 0)),
        'outside': video('train', ann('Jump', 25.0, 27.0, 0)),
        'reversed': video('train', ann('Jump', 5.0, 4.0, 0)),
        'unknown_label': video('val', ann('Dance', 1.0, 2.0, 1)),
        'id_mismatch': video('val', ann('Jump', 1.0, 2.0, 7)),
        'duplicate': video('val', ann('Jump', 1.0, 2.0, 0),
                           ann('Jump', 1.0, 2.0, 0)),
        'nan_values': video('val', ann('Jump', 1.0, 2.0, 0)),
        'not_2d': video('val', ann('Jump', 1.0, 2.0, 0)),
        'no_label': video('val', dict(segment=[1.0, 2.0])),
        'bad_duration': video('val', duration=-3),
        'beyond': video('val', ann('Jump', 18.0, 21.0, 0)),
    }
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(dict(database=db)))
    fdir = tmp_path / 'features'
    fdir.mkdir()
    for v in db:
        if v not in ('missing_features', 'wrong_dim', 'too_long',
                     'nan_values', 'not_2d'):
            np.save(fdir / f'{v}.npy', feats_for(20.0))
    np.save(fdir / 'wrong_dim.npy', feats_for(20.0, dim=32))
    np.save(fdir / 'too_long.npy', feats_for(40.0))  # stride 2 / 60 fps
    nan = feats_for(20.0)
    nan[3, 2] = np.nan
    np.save(fdir / 'nan_values.npy', nan)
    np.save(fdir / 'not_2d.npy', np.zeros(10, np.float32))
    np.save(fdir / 'stray_video.npy', feats_for(20.0))  # no annotation
    return ann_file, fdir


def by_code(report, code):
    return [p for p in report.problems if p.code == code]


def test_each_problem_is_reported_once_with_its_video(broken):
    ann_file, fdir = broken
    report = validate_tal_dataset(str(ann_file), str(fdir),
                                  subsets=['train', 'val', 'test'],
                                  classes=['Jump'])
    expected = {
        'missing-feature': 'missing_features',
        'feature-dim-mismatch': 'wrong_dim',
        'length-mismatch': 'too_long',
        'segment-outside-video': 'outside',
        'reversed-segment': 'reversed',
        'unknown-label': 'unknown_label',
        'label-id-mismatch': 'id_mismatch',
        'duplicate-instance': 'duplicate',
        'non-finite-features': 'nan_values',
        'bad-feature-shape': 'not_2d',
        'no-label': 'no_label',
        'bad-duration': 'bad_duration',
        'empty-subset': '"test"',
        'extra-feature-file': 'stray_video',
        'segment-beyond-video': 'beyond',
    }
    for code, name in expected.items():
        found = by_code(report, code)
        assert found, f'{code} not reported: {report.problems}'
        assert any(name in p.where or name in p.message for p in found), \
            (code, found)
    assert 'too_long' in by_code(report, 'length-mismatch')[0].message \
        or by_code(report, 'length-mismatch')[0].where == 'video "too_long"'
    assert 'twice the fps' in by_code(report, 'length-mismatch')[0].message
    assert by_code(report, 'extra-feature-file')[0].level == 'warning'
    assert by_code(report, 'segment-beyond-video')[0].level == 'warning'
    # every video with a problem is named; the good one never is
    assert not [p for p in report.problems if p.where == 'video "ok"']
    assert len(by_code(report, 'duplicate-instance')) == 1


def test_label_id_conflicts_without_class_list(tmp_path):
    db = dict(a=dict(subset='train', duration=10.0, fps=30.0,
                     annotations=[ann('Jump', 1, 2, 0), ann('Run', 3, 4, 0)]),
              b=dict(subset='train', duration=10.0, fps=30.0,
                     annotations=[ann('Jump', 1, 2, 1)]))
    f = tmp_path / 'a.json'
    f.write_text(json.dumps(dict(database=db)))
    report = validate_tal_dataset(str(f), None)
    msgs = [p.message for p in by_code(report, 'label-id-mismatch')]
    assert any('several label_ids' in m for m in msgs)
    assert any('names several labels' in m for m in msgs)


def test_manifest_sets_the_grid(tmp_path):
    db = dict(v=dict(subset='train', duration=20.0, fps=30.0,
                     annotations=[ann('Jump', 1, 2, 0)]))
    (tmp_path / 'a.json').write_text(json.dumps(dict(database=db)))
    fdir = tmp_path / 'f'
    fdir.mkdir()
    np.save(fdir / 'v.npy', feats_for(20.0, stride=8))
    (fdir / 'manifest.json').write_text(json.dumps(
        dict(feat_stride=8, num_frames=16, fps=None, videos={})))
    report = validate_tal_dataset(str(tmp_path / 'a.json'), str(fdir))
    assert not report.errors, report.problems
    assert report.summary['feat_stride'] == 8
    report = validate_tal_dataset(str(tmp_path / 'a.json'), str(fdir),
                                  feat_stride=4)
    assert by_code(report, 'grid-mismatch')


def test_unreadable_annotation_file(tmp_path):
    (tmp_path / 'x.json').write_text('{not json')
    report = validate_tal_dataset(str(tmp_path / 'x.json'), None)
    assert report.codes('error') == {'invalid-json'}
    (tmp_path / 'y.json').write_text(json.dumps(dict(results={})))
    assert validate_tal_dataset(str(tmp_path / 'y.json'),
                                None).codes() == {'no-database'}


def test_cli_exit_codes(broken, shared_data, capsys):
    tool = load_tool()
    ann_file, fdir = broken
    assert tool.main([str(ann_file), str(fdir), '--classes', 'Jump']) == 1
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith('ERROR')]
    assert len(lines) >= 12
    assert any('"too_long"' in ln for ln in lines)
    assert 'FAILED' in out
    # the real samples: annotations + real I3D features are clean
    samples = shared_data / 'real_i3d_samples'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, str(TOOL), str(samples / 'annotations.json'),
         str(samples), '--feat-stride', '4', '--num-frames', '16',
         '--subset', 'Test'], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'OK: 0 error(s)' in res.stdout
    assert '2048-d' in res.stdout
    # --strict fails on warnings
    db = dict(v=dict(subset='train', duration=20.0, fps=30.0,
                     annotations=[ann('Jump', 18, 21, 0)]))
    (fdir.parent / 'w.json').write_text(json.dumps(dict(database=db)))
    assert tool.main([str(fdir.parent / 'w.json')]) == 0
    assert tool.main([str(fdir.parent / 'w.json'), '--strict']) == 1


def test_duplicate_video_key_null_label_and_broken_features(tmp_path):
    """Issue 15: a video key given twice (json.load kept the last one
    silently), ``"label": null``, NaN in a segment, a 0-byte and a complex
    feature file are all reported."""
    entry = ('{"subset": "train", "duration": 20.0, "fps": 30.0, '
             '"annotations": [{"label": "Jump", "segment": [1.0, 3.0]}]}')
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text('{"database": {"a": ' + entry + ', "a": ' + entry
                        + '}}')
    report = validate_tal_dataset(str(ann_file), None)
    assert report.codes() == {'duplicate-key'}
    assert '"a" appears twice' in report.errors[0].message
    ann_file.write_text('{"database": {"a": ' + entry + ', "b": '
                        + entry.replace('"Jump"', 'null') + ', "c": '
                        + entry.replace('[1.0, 3.0]', '[NaN, 3.0]') + ', "d": '
                        + entry + ', "e": ' + entry + '}}')
    fdir = tmp_path / 'features'
    fdir.mkdir()
    for name in 'abc':
        np.save(fdir / f'{name}.npy', feats_for(20.0))
    (fdir / 'd.npy').write_bytes(b'')
    np.save(fdir / 'e.npy', feats_for(20.0).astype(np.complex64))
    report = validate_tal_dataset(str(ann_file), str(fdir))
    found = {(p.code, p.where.split('"')[1] if '"' in p.where
              else os.path.basename(p.where)) for p in report.errors}
    assert found == {('bad-label', 'b'), ('bad-segment', 'c'),
                     ('unreadable-feature', 'd.npy'),
                     ('bad-feature-dtype', 'e.npy')}, report.problems
