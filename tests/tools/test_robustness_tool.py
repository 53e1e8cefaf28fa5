"""tools/analysis/robustness.py: the data facts it writes into a config."""
import importlib.util
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location(
        'mmtal_zoom_robustness_tool', REPO / 'tools/analysis/robustness.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_class_count_is_what_the_dataset_derives(tmp_path):
    """A generator asked for 5 classes that drew only 3: the model must get
    3 outputs, as the dataset indexes the 3 that occur (a 5-way model then
    predicts labels the metric rightly refuses)."""
    db = {}
    for i, label in enumerate(['b', 'a', 'c', 'a']):
        db[f'v{i}'] = dict(subset='train', duration=10.0, fps=30.0,
                           annotations=[dict(label=label,
                                             segment=[1.0, 2.0])])
    ann = dict(version='1', database=db,
               generator=dict(num_classes=5, feat_stride=4, num_frames=16))
    (tmp_path / 'annotations.json').write_text(json.dumps(ann))
    (tmp_path / 'features').mkdir()
    np.save(tmp_path / 'features' / 'v0.npy', np.zeros((8, 7), np.float32))
    info = _tool().tal_data_info(str(tmp_path))
    assert info['num_classes'] == 3
    assert info['feat_dim'] == 7
    assert (info['feat_stride'], info['num_frames']) == (4, 16)


def test_report_shows_ar_auc_of_detectors_when_scored():
    robustness = _tool()

    def run(seed, auc):
        test = dict(average_mAP=0.3 + seed / 100, mAP={'0.5': 0.4, '0.7': 0.2},
                    mAP_by_length={})
        if auc is not None:
            test['AUC'] = auc
        return dict(preset='p', model='baseline', seed=seed, test=test,
                    val=dict(average_mAP=0.5, mAP={}, mAP_by_length={}))

    text = robustness.report([run(0, 40.0), run(1, 42.0)], ['p'])
    assert '| test AR AUC |' in text.splitlines()[2]
    assert '41.00 ± 1.41' in text
    # runs scored before AR@AN existed show '-', not a wrong mean
    text = robustness.report([run(0, 40.0), run(1, None)], ['p'])
    row = [line for line in text.splitlines() if line.startswith('| base')]
    assert row[0].split('|')[6].strip() == '-'


def test_report_file_keeps_every_preset(tmp_path, capsys):
    """Reporting (or running) one preset prints that preset and still
    writes every preset's table into report.md."""
    robustness = _tool()
    for preset in ('p1', 'p2'):
        run = tmp_path / preset / 'baseline' / 'seed0'
        run.mkdir(parents=True)
        split = dict(average_mAP=0.3, mAP={'0.5': 0.4, '0.7': 0.2},
                     mAP_by_length={})
        (run / 'metrics.json').write_text(json.dumps(dict(
            preset=preset, model='baseline', seed=0, test=split, val=split)))
    printed = robustness.main(['--report-only', '--presets', 'p1',
                               '--work-dir', str(tmp_path)])
    assert 'p1' in printed and 'p2' not in printed
    saved = (tmp_path / 'report.md').read_text()
    assert 'p1' in saved and 'p2' in saved
