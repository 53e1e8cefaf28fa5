"""tools/infer.py end to end on the real I3D sample features."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_localizer import CLASSES, trained_tiny_localizer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'infer.py'


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180)


def test_infer_writes_json_plot_and_table(shared_data, tmp_path):
    samples = shared_data / 'real_i3d_samples'
    cfg_file, ckpt = trained_tiny_localizer()
    out, plot = tmp_path / 'result.json', tmp_path / 'timeline.png'
    res = run_tool(cfg_file, ckpt, samples, '--gt',
                   samples / 'annotations.json', '--out', out, '--plot', plot,
                   '--score-thr', '0.05', '--topk', '3')
    assert res.returncode == 0, res.stderr[-3000:]
    # human-readable table, one block per video
    assert 'highjump (24.00 s, 164 snippets)' in res.stdout
    assert 'tennis26 (11.00 s, 89 snippets)' in res.stdout
    assert 'start (s)' in res.stdout and 'TennisSwing' in res.stdout
    # ActivityNet-format JSON
    data = json.loads(out.read_text())
    assert set(data) == {'version', 'results', 'external_data'}
    assert set(data['results']) == {'highjump', 'tennis26'}
    durations = dict(highjump=24.0, tennis26=11.0)
    for video, dets in data['results'].items():
        assert dets, video
        scores = [d['score'] for d in dets]
        assert scores == sorted(scores, reverse=True)
        for d in dets:
            assert set(d) == {'label', 'segment', 'score'}
            assert d['label'] in CLASSES
            s, e = d['segment']
            assert 0 <= s <= e <= durations[video] + 1e-4
            assert d['score'] >= 0.05
    # the plot is a PNG
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert plot.stat().st_size > 10_000


def load_tool():
    spec = importlib.util.spec_from_file_location('infer_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_infer_errors_and_help(tmp_path, capsys):
    tool = load_tool()
    with pytest.raises(SystemExit) as exc:
        tool.main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ('--out', '--plot', '--score-thr', '--gt',
                 '--extractor-config', '--onnx'):
        assert flag in out
    assert tool.main(['cfg.py', 'ckpt.pth', str(tmp_path / 'missing.npy')]) \
        == 2
    assert 'missing.npy' in capsys.readouterr().err
    # a folder: feature files win over the videos beside them
    (tmp_path / 'a.mp4').write_bytes(b'')
    (tmp_path / 'a.npy').write_bytes(b'')
    (tmp_path / 'b.mp4').write_bytes(b'')
    assert tool.expand_inputs([str(tmp_path)]) == [
        str(tmp_path / 'a.npy'), str(tmp_path / 'b.mp4')]


def test_duplicate_names_and_bad_fps_are_refused(tmp_path, capsys):
    """Issue 15, defect 6: two inputs with the same name dropped one
    video's results; --fps nan wrote NaN into the JSON; --fps 0 was
    ignored. Refused before anything is loaded."""
    tool = load_tool()
    for sub in ('a', 'b'):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / 'clip.npy').write_bytes(b'')
    assert tool.main(['cfg.py', 'ckpt.pth', str(tmp_path / 'a' / 'clip.npy'),
                      str(tmp_path / 'b')]) == 2
    err = capsys.readouterr().err
    assert 'two inputs are named "clip"' in err and 'a/clip.npy' in err
    for value in ('nan', '0', '-5', 'inf'):
        with pytest.raises(SystemExit) as exc:
            tool.main(['cfg.py', 'ckpt.pth', str(tmp_path / 'a'), '--fps',
                       value])
        assert exc.value.code == 2
        assert 'argument --fps: must be a positive finite number' in \
            capsys.readouterr().err


def test_non_finite_fps_of_gt_entry_is_refused(shared_data, tmp_path):
    """A --gt file goes through the dataset's checks (NaN fps used to reach
    the results JSON)."""
    samples = shared_data / 'real_i3d_samples'
    cfg_file, ckpt = trained_tiny_localizer()
    gt = json.loads((samples / 'annotations.json').read_text())
    gt['database']['tennis26']['fps'] = float('nan')
    bad = tmp_path / 'gt.json'
    bad.write_text(json.dumps(gt))
    sys.path.insert(0, str(REPO / 'tests'))
    from cli_helpers import last_line
    from cli_helpers import run_tool as run_in_process
    out = tmp_path / 'r.json'
    rc, _, err = run_in_process('infer', [
        cfg_file, ckpt, samples / 'tennis26.npy', '--gt', bad, '--out', out])
    assert rc == 2
    line = last_line(err)
    assert 'gt.json' in line and 'video "tennis26"' in line
    assert '"fps" must be a positive number' in line
    assert not out.exists()
