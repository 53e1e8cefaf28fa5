"""ONNX export of the tensor path, checked against PyTorch with onnxruntime,
and the shared post-processing."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_localizer import SAMPLES, trained_tiny_localizer  # noqa: E402

from mmtal_zoom.apis import (export_onnx, inference_localizer,  # noqa: E402
                             init_localizer, load_onnx_session, onnx_forward)
from mmtal_zoom.apis.onnx_export import TALTensorPath  # noqa: E402
from mmtal_zoom.apis.onnx_export import compare_with_pytorch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'export_onnx.py'


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    # the tiny model trains on ../shared/data's real samples: skip cleanly
    # without them, as the shared_data fixture does
    if not SAMPLES.is_dir():
        pytest.skip(f'{SAMPLES} is absent')
    cfg_file, ckpt = trained_tiny_localizer()
    model = init_localizer(cfg_file, ckpt)
    out = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    info = export_onnx(model, str(out), seq_len=96)
    return model, str(out), info


def test_export_matches_pytorch_at_two_lengths(exported):
    model, path, info = exported
    assert set(info['max_abs_diff']) == {96, 48}
    assert max(info['max_abs_diff'].values()) <= 1e-4
    session = load_onnx_session(path)
    names = [o.name for o in session.get_outputs()]
    assert names == ([f'cls_logits_{i}' for i in range(3)] +
                     [f'reg_offsets_{i}' for i in range(3)] +
                     [f'mask_{i}' for i in range(3)])
    # lengths never traced, one longer than at export, batch of 2
    for seq_len in (64, 200):
        assert compare_with_pytorch(session, model, seq_len, seed=1) <= 1e-4
    feats = torch.rand(2, 2048, 128)
    masks = torch.ones(2, 128, dtype=torch.bool)
    masks[1, 100:] = False
    outs, level_masks = onnx_forward(session, feats, masks)
    with torch.no_grad():
        ref = TALTensorPath(model)(feats, masks)
    flat = list(outs[0]) + list(outs[1]) + list(level_masks)
    assert [tuple(t.shape) for t in flat] == [tuple(r.shape) for r in ref]
    for o, r in zip(flat, ref):
        if r.dtype == torch.bool:
            assert torch.equal(o, r)
        else:
            torch.testing.assert_close(o, r, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='multiple of 4'):
        onnx_forward(session, torch.rand(1, 2048, 30),
                     torch.ones(1, 30, dtype=torch.bool))


def test_onnx_inference_equals_pytorch(exported, shared_data):
    model, path, _ = exported
    session = load_onnx_session(path)
    feats = shared_data / 'real_i3d_samples' / 'tennis26.npy'
    ref = inference_localizer(model, str(feats), duration=11.0)
    out = inference_localizer(model, str(feats), duration=11.0,
                              onnx_session=session)
    assert len(out) == len(ref) > 0
    torch.testing.assert_close(out.segments, ref.segments, atol=1e-3,
                               rtol=0)
    torch.testing.assert_close(out.scores, ref.scores, atol=1e-4, rtol=0)
    assert out.label_names == ref.label_names


def test_cli_export(shared_data, tmp_path):
    cfg_file, ckpt = trained_tiny_localizer()
    out = tmp_path / 'model.onnx'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, str(TOOL), cfg_file, ckpt, '--out', str(out),
         '--seq-len', '64', '--verify-len', '64', '128'], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    assert out.is_file()
    assert 'at T=64' in res.stdout and 'at T=128' in res.stdout
    diffs = [float(line.split('= ')[1].split()[0])
             for line in res.stdout.splitlines() if 'max |diff|' in line]
    assert len(diffs) == 2 and max(diffs) <= 1e-4
    assert np.isfinite(diffs).all()


def test_other_methods_export_or_fail_clearly(tmp_path):
    """CLTDR-GMG (GMGNeck's FFT global filter): either the export matches
    PyTorch, or it fails with an error that names the operator."""
    with pytest.warns(UserWarning, match='RANDOM'):
        model = init_localizer(
            str(REPO / 'configs' / 'cltdr_gmg' /
                'cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py'), None,
            classes=[str(i) for i in range(10)])
    try:
        info = export_onnx(model, str(tmp_path / 'gmg.onnx'), seq_len=128)
    except RuntimeError as exc:
        assert 'cannot be exported' in str(exc)
        assert 'GMGNeck' in str(exc) and 'fft' in str(exc)
        assert not (tmp_path / 'gmg.onnx').exists()
    else:
        assert max(info['max_abs_diff'].values()) <= 1e-4
