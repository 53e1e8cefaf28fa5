"""tools/eval_detection.py on small annotation / results files."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))
import cli_helpers  # noqa: E402

TOOL = REPO / 'tools' / 'eval_detection.py'


def load_tool():
    return cli_helpers.load_tool('eval_detection')


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def ann(label, label_id, s, e):
    return dict(label=label, segment=[s, e], label_id=label_id)


@pytest.fixture
def files(tmp_path):
    database = {
        'vid_a': dict(subset='Test', duration=60.0, fps=30.0, annotations=[
            ann('Jump', 0, 1.0, 2.0), ann('Throw', 1, 10.0, 16.0)]),
        'vid_b': dict(subset='Test', duration=60.0, fps=30.0, annotations=[
            ann('Jump', 0, 20.0, 32.0)]),
        'vid_c': dict(subset='Validation', duration=60.0, fps=30.0,
                      annotations=[ann('Throw', 1, 0.0, 5.0)]),
        'vid_d': dict(subset='Test', duration=30.0, fps=30.0,
                      annotations=[]),
    }
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps(dict(version='test', database=database)))
    results = {
        'vid_a': [dict(label='Jump', segment=[1.0, 2.0], score=0.9),
                  dict(label='Throw', segment=[10.0, 15.0], score=0.8),
                  dict(label='Throw', segment=[40.0, 45.0], score=0.85)],
        'vid_c': [dict(label='Throw', segment=[0.0, 5.0], score=0.7)],
        'vid_d': [],
        # vid_b absent: its instance is missed
    }
    pred = tmp_path / 'pred.json'
    pred.write_text(json.dumps(dict(results=results)))
    return gt, pred, tmp_path


def with_detection(pred, out, **fields):
    """A copy of the results file ``pred`` at ``out`` whose detection 1 of
    vid_a has ``fields`` changed."""
    data = json.loads(pred.read_text())
    data['results']['vid_a'][1].update(fields)
    out.write_text(json.dumps(data))
    return out


def test_cli_end_to_end(files):
    gt, pred, tmp = files
    out = tmp / 'sub' / 'metrics.json'
    proc = run_tool('--gt', gt, '--pred', pred, '--subset', 'Test', '--tious',
                    0.3, 0.5, '--out', out)
    assert proc.returncode == 0, proc.stderr
    assert 'Per-class AP' in proc.stdout and 'mAP' in proc.stdout
    assert 'other subsets' in proc.stdout  # vid_c is Validation
    metrics = json.loads(out.read_text())
    # Jump: 1 of 2 found (AP 0.5); Throw: FP (0.85) then TP (0.8) -> 0.5
    assert metrics['mAP'] == {'0.3': 0.5, '0.5': 0.5}
    assert metrics['average_mAP'] == 0.5
    assert metrics['per_class_AP']['Jump']['0.3'] == 0.5
    assert metrics['per_class_AP']['Throw']['average'] == 0.5
    assert metrics['num_videos'] == 3 and metrics['num_ground_truth'] == 3
    assert metrics['mAP_by_length']['<2s']['0.5'] == 1.0
    assert metrics['mAP_by_length']['2-5s']['0.5'] is None  # no instance
    assert metrics['recall']['1']['0.5'] == pytest.approx(1 / 3)
    assert metrics['recall']['5']['0.5'] == pytest.approx(2 / 3)


def test_cli_errors_name_the_culprit(files):
    gt, pred, tmp = files
    data = json.loads(pred.read_text())
    data['results']['vid_zzz'] = [dict(label='Jump', segment=[0, 1],
                                       score=0.5)]
    bad_video = tmp / 'bad_video.json'
    bad_video.write_text(json.dumps(data))
    proc = run_tool('--gt', gt, '--pred', bad_video)
    assert proc.returncode == 2
    assert "unknown video 'vid_zzz'" in proc.stderr

    tool = load_tool()
    bad_label = with_detection(pred, tmp / 'bad_label.json', label='Dance')
    assert tool.main(['--gt', str(gt), '--pred', str(bad_label)]) == 2
    bad_segment = with_detection(pred, tmp / 'bad_segment.json', segment=[3])
    assert tool.main(['--gt', str(gt), '--pred', str(bad_segment)]) == 2
    assert tool.main(['--gt', str(gt), '--pred', str(pred), '--subset',
                      'Training']) == 2
    assert tool.main(['--gt', str(tmp / 'missing.json'), '--pred',
                      str(pred)]) == 2


def test_cli_messages_in_process(files, capsys):
    gt, pred, tmp = files
    tool = load_tool()
    bad = with_detection(pred, tmp / 'bad.json', label='Dance')
    assert tool.main(['--gt', str(gt), '--pred', str(bad)]) == 2
    err = capsys.readouterr().err
    assert "detection 1 of video 'vid_a'" in err
    assert "unknown label 'Dance'" in err
    with pytest.raises(SystemExit) as exc:
        tool.main(['--help'])
    assert exc.value.code == 0
    assert '--subset' in capsys.readouterr().out


def test_thumos14_ground_truth_as_predictions_gives_map_1(shared_data,
                                                          tmp_path):
    ann_file = shared_data / 'thumos14' / 'thumos14.json'
    if not ann_file.is_file():
        pytest.skip(f'{ann_file} is absent')
    database = json.loads(ann_file.read_text())['database']
    results, score = {}, 1.0
    for video, info in database.items():
        if info['subset'] != 'Test':
            continue
        results[video] = []
        for a in info['annotations']:
            score -= 1e-5  # unique scores
            results[video].append(
                dict(label=a['label'], segment=a['segment'], score=score))
    pred = tmp_path / 'gt_as_pred.json'
    pred.write_text(json.dumps(dict(results=results)))
    out = tmp_path / 'metrics.json'
    tool = load_tool()
    assert tool.main(['--gt', str(ann_file), '--pred', str(pred), '--subset',
                      'Test', '--out', str(out), '--no-per-class']) == 0
    metrics = json.loads(out.read_text())
    assert metrics['num_videos'] == 212
    assert metrics['num_ground_truth'] == 3358
    assert metrics['average_mAP'] == pytest.approx(1.0)
    assert all(v == pytest.approx(1.0) for v in metrics['mAP'].values())
    assert len(metrics['per_class_AP']) == 20


@pytest.mark.parametrize('change, needle', [
    (lambda d: d.update(segment=[15.0, 10.0]), 'ends before it starts'),
    (lambda d: d.update(segment=[-2.0, 3.0]), 'starts before 0'),
    (lambda d: d.update(segment=[4.0, 4.0]), 'zero length'),
    (lambda d: d.update(segment='15'), "got '15'"),
    (lambda d: d.update(segment=['1', '5']), 'two finite numbers'),
    (lambda d: d.update(score=float('nan')), '"score" must be a finite'),
    (lambda d: d.update(score='0.9'), '"score" must be a finite'),
    (lambda d: d.update(score=True), '"score" must be a finite'),
])
def test_invalid_predictions_are_refused(files, change, needle):
    """Issue 15, defect 5: each of these used to be scored (exit 0)."""
    gt, pred, tmp = files
    data = json.loads(pred.read_text())
    change(data['results']['vid_a'][1])
    bad = tmp / 'bad.json'
    bad.write_text(json.dumps(data))
    tool = load_tool()
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert tool.main(['--gt', str(gt), '--pred', str(bad)]) == 2
    line = err.getvalue().strip()
    assert len(line.splitlines()) == 1
    assert "detection 1 of video 'vid_a'" in line and needle in line, line


def test_invalid_ground_truth_options_and_duplicates(files, capsys):
    gt, pred, tmp = files
    tool = load_tool()
    data = json.loads(gt.read_text())
    data['database']['vid_a']['annotations'][0]['segment'] = [2.0, 1.0]
    bad_gt = tmp / 'bad_gt.json'
    bad_gt.write_text(json.dumps(data))
    assert tool.main(['--gt', str(bad_gt), '--pred', str(pred)]) == 2
    assert 'ends before it starts' in capsys.readouterr().err
    # a video listed twice in the results: the first list would be dropped
    text = pred.read_text().replace('"vid_c":', '"vid_a":')
    dup = tmp / 'dup.json'
    dup.write_text(text)
    assert tool.main(['--gt', str(gt), '--pred', str(dup)]) == 2
    assert '"vid_a" appears twice' in capsys.readouterr().err
    for option in (['--tious', 'nan'], ['--tious', '0'], ['--tious', '1.5'],
                   ['--recall-topk', '0']):
        with pytest.raises(SystemExit) as exc:
            tool.main(['--gt', str(gt), '--pred', str(pred), *option])
        assert exc.value.code == 2
        assert option[0] in capsys.readouterr().err


def test_ar_an_equals_mmaction_on_the_same_detections(files):
    """--ar-an: class-agnostic AR@AN / AUC as MMAction2 computes them."""
    import numpy as np

    from mmaction.evaluation.functional import average_recall_at_avg_proposals
    gt, pred, tmp = files
    out = tmp / 'metrics.json'
    proc = run_tool('--gt', gt, '--pred', pred, '--subset', 'Test',
                    '--ar-an', '--out', out)
    assert proc.returncode == 0, proc.stderr
    assert 'AR@100' in proc.stdout
    metrics = json.loads(out.read_text())
    # MMAction2 on the same inputs: videos with ground truth (vid_a, vid_b),
    # every detection a proposal, 3 proposals in all
    ground_truth = {'vid_a': np.array([[1.0, 2.0], [10.0, 16.0]]),
                    'vid_b': np.array([[20.0, 32.0]])}
    proposals = {'vid_a': np.array([[1.0, 2.0, 0.9], [10.0, 15.0, 0.8],
                                    [40.0, 45.0, 0.85]]),
                 'vid_b': np.zeros((0, 3))}
    recall, _, _, auc = average_recall_at_avg_proposals(
        ground_truth, proposals, 3, max_avg_proposals=100,
        temporal_iou_thresholds=np.linspace(0.5, 0.95, 10))
    curve = recall.mean(axis=0)
    assert metrics['AR_AUC'] == pytest.approx(auc, abs=1e-9)
    assert metrics['AR@AN']['100'] == pytest.approx(curve[99], abs=1e-9)
    assert 0 < metrics['AR@AN']['100'] < 1  # vid_b's instance is missed
