"""tools/analysis/compare_detections.py: two methods' results files scored
as eval_detection scores them, their paired bootstrap difference, and the
one-line errors on bad input."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis' / 'compare_detections.py'
CLASSES = ('Jump', 'Throw')


def load_tool():
    spec = importlib.util.spec_from_file_location('mmtal_compare_detections',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in_process(capsys, *args):
    """main() in this process (no interpreter start-up): (rc, stdout)."""
    rc = load_tool().main([str(a) for a in args])
    return rc, capsys.readouterr().out


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def files(tmp_path):
    """20 test videos with one instance each; 'good' finds every instance,
    'poor' finds a third of them and adds a false positive per video."""
    rng = np.random.default_rng(0)
    database, good, poor = {}, {}, {}
    for i in range(20):
        s = float(rng.uniform(0, 40))
        label = CLASSES[i % 2]
        database[f'v{i}'] = dict(subset='test', duration=60.0, annotations=[
            dict(label=label, label_id=i % 2, segment=[s, s + 5])])
        good[f'v{i}'] = [dict(label=label, segment=[s, s + 5],
                              score=0.9 - i / 100)]
        poor[f'v{i}'] = [dict(label=label, segment=[50.0, 55.0],
                              score=0.95 - i / 100)]
        if i % 3 == 0:
            poor[f'v{i}'].append(dict(label=label, segment=[s, s + 5],
                                      score=0.5))
    database['other'] = dict(subset='train', duration=60.0, annotations=[])
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps(dict(database=database)))
    paths = []
    for name, res in (('poor', poor), ('good', good)):
        p = tmp_path / f'{name}.json'
        p.write_text(json.dumps(dict(results=res)))
        paths.append(p)
    return gt, paths[0], paths[1], tmp_path


def test_cli_end_to_end(files):
    gt, poor, good, tmp = files
    out = tmp / 'cmp.json'
    proc = run_tool('--gt', gt, '--subset', 'test', '--pred', f'poor={poor}',
                    f'good={good}', '--samples', 200, '--out', out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report['num_videos'] == 20
    good_m = report['methods'][1]
    assert good_m['name'] == 'good' and good_m['average_mAP'] == 100.0
    diff = report['differences'][0]
    assert diff['method'] == 'good' and diff['reference'] == 'poor'
    assert diff['average_mAP'] == pytest.approx(
        100.0 - report['methods'][0]['average_mAP'])
    lo, hi = diff['interval_95']
    assert 0 < lo <= diff['average_mAP'] <= hi
    assert diff['positive_share'] == 1.0
    assert {c['name'] for c in diff['classes']} == set(CLASSES)
    assert 'good - poor' in proc.stdout


def test_same_results_cannot_be_told_apart(files, capsys):
    gt, poor, _, _ = files
    rc, stdout = run_in_process(capsys, '--gt', gt, '--pred', f'a={poor}',
                                f'b={poor}', '--samples', 20)
    assert rc == 0
    assert 'cannot tell them apart' in stdout


def test_a_method_of_several_runs_is_their_mean(files, capsys):
    """NAME=a.json,b.json: the method is the mean of its runs, on the full
    test set and in every draw."""
    gt, poor, good, tmp = files
    out = tmp / 'mean.json'
    rc, stdout = run_in_process(capsys, '--gt', gt, '--pred', f'ref={poor}',
                                f'both={poor},{good}', '--samples', 100,
                                '--out', out)
    assert rc == 0
    report = json.loads(out.read_text())
    ref, both = report['methods']
    assert both['pred'] == [str(poor), str(good)]
    assert both['run_average_mAP'] == [ref['average_mAP'], 100.0]
    assert both['average_mAP'] == pytest.approx(
        (ref['average_mAP'] + 100.0) / 2)
    assert 'both (mean of 2)' in stdout
    diff = report['differences'][0]
    assert diff['average_mAP'] == pytest.approx(
        (100.0 - ref['average_mAP']) / 2)
    assert diff['interval_95'][0] > 0


@pytest.mark.parametrize('bad', ['missing', 'label'])
def test_bad_input_is_one_line_naming_the_file(files, bad):
    gt, poor, good, tmp = files
    if bad == 'missing':
        target = tmp / 'nope.json'
    else:
        target = tmp / 'bad_label.json'
        data = json.loads(good.read_text())
        data['results']['v3'][0]['label'] = 'Swim'
        target.write_text(json.dumps(data))
    proc = run_tool('--gt', gt, '--pred', poor, target, '--samples', 5)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and target.name in lines[0], proc.stderr


def test_reference_check_reports_the_paired_interval(files):
    """actionformer_reference.py compares the two sides of every seed whose
    runs both wrote their detections (here: seed 0 only)."""
    import argparse
    import importlib.util
    gt, poor, good, tmp = files
    data = tmp / 'data'
    data.mkdir()
    (data / 'annotations.json').write_text(gt.read_text())
    work = tmp / 'work'
    for side, src in (('official', good), ('ours', poor)):
        (work / f'thumos14_{side}_seed0').mkdir(parents=True)
        (work / f'thumos14_{side}_seed0' / 'results_raw.json').write_text(
            src.read_text())
    (work / 'thumos14_official_seed1').mkdir()  # seed 1: one side only
    spec = importlib.util.spec_from_file_location(
        'mmtal_actionformer_reference',
        REPO / 'tools' / 'analysis' / 'actionformer_reference.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = argparse.Namespace(seeds=[0, 1], work_dir=str(work),
                              recipe='thumos14', data=str(data),
                              bootstrap_samples=50)
    out = tool.paired_comparisons(args)
    assert [o['seed'] for o in out] == [0]
    diff = out[0]['differences'][0]
    assert (diff['method'], diff['reference']) == ('ours', 'official')
    assert diff['interval_95'][1] < 0  # 'ours' is the poor one here
