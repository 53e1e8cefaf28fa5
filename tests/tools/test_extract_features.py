"""Feature extraction from the two real sample videos with the tiny, randomly
initialised SlowOnly-R18 (configs/extractors/tiny_slowonly_r18_random.py)."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmtal_zoom.apis.feature_extraction import (ClipFeatureExtractor,
                                                collect_videos,
                                                dataset_settings_from_manifest,
                                                extract_features,
                                                snippet_count,
                                                snippet_frame_indices)
from mmtal_zoom.datasets.transforms.loading import expected_feat_len
from mmtal_zoom.structures.time_grid import grid_to_seconds

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'extract_features.py'
TINY = str(REPO / 'configs' / 'extractors' / 'tiny_slowonly_r18_random.py')
FRAMES = dict(highjump=727, tennis26=339)  # decord's frame counts


@pytest.fixture(scope='module')
def extractor():
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):
        return ClipFeatureExtractor(TINY, None)


@pytest.fixture(scope='module')
def extracted(extractor, tmp_path_factory):
    samples = Path(__file__).resolve().parents[3] / 'shared' / 'data' / \
        'real_i3d_samples'
    if not samples.is_dir():
        pytest.skip(f'{samples} is absent')
    out = tmp_path_factory.mktemp('feats')
    manifest, done = extract_features(str(samples), str(out), extractor,
                                      progress=False)
    return samples, out, manifest, done


def test_tiny_extractor_config_builds(extractor):
    assert type(extractor.model).__name__ == 'Recognizer3D'
    assert (extractor.clip_len, extractor.frame_interval,
            extractor.num_frames) == (8, 2, 16)
    assert extractor.random_init
    assert [s['type'] for s in extractor.spatial_cfg] == ['Resize',
                                                          'CenterCrop']


def test_snippet_grid_convention():
    assert snippet_count(727, 4, 16) == 178
    assert snippet_count(16, 4, 16) == 1
    assert snippet_count(5, 4, 16) == 1  # shorter than one window
    inds = snippet_frame_indices(3, 4, 8, 2, 1000)
    np.testing.assert_array_equal(inds[1], 4 + 2 * np.arange(8))
    # a short video repeats its last frame
    assert snippet_frame_indices(1, 4, 8, 2, 5).max() == 4
    # T agrees with what the data pipeline expects from the duration ...
    assert abs(snippet_count(900, 4, 16) - expected_feat_len(30.0, 30.0, 4,
                                                             16)) < 1
    # ... and snippet i is centred where time_grid puts grid position i
    i = 10
    centre_frame = inds[0, 0] + i * 4 + 16 / 2
    assert grid_to_seconds(float(i), 30.0, 4, 16) == centre_frame / 30.0


def test_extract_real_videos(extracted):
    samples, out, manifest, done = extracted
    assert sorted(done['extracted']) == ['highjump', 'tennis26']
    assert manifest['feat_dim'] == 64 and manifest['random_init'] is True
    assert (manifest['feat_stride'], manifest['num_frames']) == (4, 16)
    for name, n_frames in FRAMES.items():
        feats = np.load(out / f'{name}.npy')
        entry = manifest['videos'][name]
        assert feats.dtype == np.float32 and feats.ndim == 2
        assert feats.shape == (entry['feat_len'], 64)
        assert np.isfinite(feats).all() and feats.std() > 0
        assert entry['num_video_frames'] == n_frames
        assert feats.shape[0] == (n_frames - 16) // 4 + 1
        # number of snippets vs duration: (duration*fps - 16)/4 + 1
        exp = expected_feat_len(entry['duration'], entry['fps'], 4, 16)
        assert abs(feats.shape[0] - exp) < 1
        # neighbouring snippets overlap by 12 of 16 frames: correlated
        a, b = feats[:-1] - feats.mean(0), feats[1:] - feats.mean(0)
        assert (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()) > 0.3
    on_disk = json.loads((out / 'manifest.json').read_text())
    assert on_disk['videos'] == manifest['videos']
    ds = dataset_settings_from_manifest(on_disk)
    assert ds['feat_dim'] == 64 and ds['feat_stride'] == 4


def test_extraction_is_deterministic(extracted, tmp_path):
    samples, out, _, _ = extracted
    with pytest.warns(UserWarning):
        again = ClipFeatureExtractor(TINY, None, batch_size=5)  # other batch
    feats, info = again.extract(str(samples / 'tennis26.mp4'))
    np.testing.assert_allclose(feats, np.load(out / 'tennis26.npy'),
                               rtol=1e-5, atol=1e-6)
    assert info['feat_len'] == feats.shape[0]


def test_resume_skips_finished_videos(extracted, extractor):
    samples, out, _, _ = extracted
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    manifest, done = extract_features(str(samples), str(out), extractor,
                                      progress=False)
    assert done == dict(extracted=[], skipped=['highjump', 'tennis26'],
                        failed=[])
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes
    # a truncated file is redone
    np.save(out / 'tennis26.npy', np.zeros((3, 64), np.float32))
    _, done = extract_features(str(samples), str(out), extractor,
                               progress=False)
    assert done['extracted'] == ['tennis26']
    assert np.load(out / 'tennis26.npy').shape[0] == 81


def test_other_settings_are_refused(extracted):
    samples, out, _, _ = extracted
    with pytest.warns(UserWarning):
        other = ClipFeatureExtractor(TINY, None, feat_stride=8)
    with pytest.raises(ValueError, match='feat_stride'):
        extract_features(str(samples / 'tennis26.mp4'), str(out), other,
                         progress=False)


def test_fps_resampling_and_lists(extracted, tmp_path):
    samples, _, _, _ = extracted
    lst = tmp_path / 'videos.txt'
    lst.write_text(f'# one video\n{samples / "tennis26.mp4"}\n')
    assert collect_videos(str(lst)) == [str(samples / 'tennis26.mp4')]
    with pytest.warns(UserWarning):
        ex = ClipFeatureExtractor(TINY, None, fps=15.0)
    feats, info = ex.extract(str(samples / 'tennis26.mp4'))
    assert info['fps'] == 15.0 and info['num_video_frames'] == 169
    assert feats.shape == ((169 - 16) // 4 + 1, 64)


def test_bad_inputs_are_named(tmp_path, extractor):
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video')
    with pytest.raises(RuntimeError, match='broken.mp4'):
        extractor.extract(str(bad))
    with pytest.raises(FileNotFoundError, match='nope'):
        collect_videos(str(tmp_path / 'nope'))
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    (tmp_path / 'a' / 'x.mp4').write_bytes(b'')
    (tmp_path / 'b' / 'x.avi').write_bytes(b'')
    with pytest.raises(ValueError, match='both named "x"'):
        collect_videos([str(tmp_path / 'a'), str(tmp_path / 'b')])
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        ClipFeatureExtractor(TINY, str(tmp_path / 'missing.pth'))


def test_cli_resumes_and_prints_settings(extracted):
    samples, out, _, _ = extracted
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, str(TOOL), TINY, str(samples), '--out-dir',
         str(out), '--no-progress'], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert '0 video(s) extracted, 2 already done' in res.stdout
    assert 'in_channels = 64' in res.stdout
    assert 'RANDOMLY INITIALISED' in res.stdout


def test_cli_help(capsys):
    spec = importlib.util.spec_from_file_location('extract_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as exc:
        tool.main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ('--checkpoint', '--feat-stride', '--batch-size', '--device',
                 '--no-resume', '--overwrite', '--fps'):
        assert flag in out
    assert tool.main([TINY, '/no/such/video.mp4', '--out-dir', '/tmp/x']) == 2


class _FakeExtractor:
    """Stands in for ClipFeatureExtractor in the bookkeeping tests: 'videos'
    are small files; one whose name contains 'broken' cannot be decoded."""
    feat_stride, num_frames = 4, 16

    def __init__(self):
        self.calls = []

    def settings(self):
        return dict(extractor_config='fake', checkpoint=None,
                    random_init=True, seed=0, feat_stride=4, num_frames=16,
                    clip_len=8, frame_interval=2, fps=None,
                    spatial_pipeline=[])

    def extract(self, path, progress=False):
        self.calls.append(os.path.basename(path))
        if 'broken' in path:
            raise RuntimeError(f'{path}: cannot be decoded by decord '
                               '(DECORDError: invalid data)')
        n = 5 + len(open(path, 'rb').read())
        return (np.full((n, 3), 1.0, np.float32),
                dict(source=os.path.abspath(path), fps=30.0, native_fps=30.0,
                     num_video_frames=4 * n + 12, duration=n / 7.5,
                     feat_len=n, feat_dim=3))


def test_corrupt_video_is_skipped_and_recorded(tmp_path):
    """Issue 15, defect 6: one corrupt video used to abort the whole folder
    on every rerun; it is skipped, recorded, the others extracted."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name in ('a.mp4', 'broken.mp4', 'c.mp4'):
        (videos / name).write_bytes(b'xx')
    out = tmp_path / 'feats'
    fake = _FakeExtractor()
    manifest, done = extract_features(str(videos), str(out), fake,
                                      progress=False)
    assert done == dict(extracted=['a', 'c'], skipped=[], failed=['broken'])
    on_disk = json.loads((out / 'manifest.json').read_text())
    assert sorted(on_disk['videos']) == ['a', 'c']
    assert 'DECORDError' in on_disk['failed']['broken']['error']
    assert not (out / 'broken.npy').exists()
    # a rerun tries the failed one again and skips the others
    fake.calls.clear()
    _, done = extract_features(str(videos), str(out), fake, progress=False)
    assert fake.calls == ['broken.mp4'] and done['failed'] == ['broken']


def test_changed_video_is_extracted_again(tmp_path):
    """A video replaced after extraction (other size, or same size and a
    new mtime) gets new features; an untouched one is skipped."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (videos / name).write_bytes(b'xx')
    out = tmp_path / 'feats'
    fake = _FakeExtractor()
    extract_features(str(videos), str(out), fake, progress=False)
    assert np.load(out / 'a.npy').shape[0] == 7
    (videos / 'a.mp4').write_bytes(b'xxxx')  # replaced: other size
    st = os.stat(videos / 'b.mp4')
    os.utime(videos / 'b.mp4', ns=(st.st_atime_ns,
                                   st.st_mtime_ns + 10**9))  # touched
    fake.calls.clear()
    manifest, done = extract_features(str(videos), str(out), fake,
                                      progress=False)
    assert sorted(done['extracted']) == ['a', 'b'] and not done['skipped']
    assert np.load(out / 'a.npy').shape[0] == 9
    assert manifest['videos']['a']['source_size'] == 4
    fake.calls.clear()
    _, done = extract_features(str(videos), str(out), fake, progress=False)
    assert fake.calls == [] and sorted(done['skipped']) == ['a', 'b']


def test_cli_skips_a_corrupt_video_and_exits_non_zero(extracted, tmp_path):
    """The real extractor on a folder with a corrupt file: the good video
    is done (already extracted here), the corrupt one is named on the last
    line of stderr and the exit code is 2."""
    import shutil
    sys.path.insert(0, str(REPO / 'tests'))
    from cli_helpers import last_line, run_tool
    samples, out, _, _ = extracted
    work = tmp_path / 'feats'
    shutil.copytree(out, work)
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video at all')
    rc, stdout, err = run_tool('extract_features', [
        TINY, samples / 'tennis26.mp4', bad, '--out-dir', work,
        '--no-progress'])
    assert rc == 2, err[-2000:]
    line = last_line(err)
    assert line.startswith('error: 1 video(s) could not be decoded')
    assert str(bad) in line and 'Traceback' not in err
    assert '0 video(s) extracted, 1 already done' in stdout
    manifest = json.loads((work / 'manifest.json').read_text())
    assert 'broken' in manifest['failed'] and 'tennis26' in manifest['videos']
