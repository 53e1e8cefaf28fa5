"""tools/analysis/robustness.py: the data facts it writes into a config."""
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

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


def test_report_names_runs_with_a_dead_regression_channel():
    """A run whose test starts all lie on the feature grid is named under its
    preset's table; healthy runs, runs scored before the count existed and
    other presets' runs are not."""
    robustness = _tool()

    def run(seed, start, preset='p'):
        test = dict(average_mAP=0.3, mAP={'0.5': 0.4, '0.7': 0.2},
                    mAP_by_length={})
        if start is not None:
            test['boundaries_on_grid'] = dict(start=start, end=0.006,
                                              num_start=900, num_end=900)
        return dict(preset=preset, model='zoom_uniform', seed=seed,
                    test=test, val=dict(average_mAP=0.5))

    runs = [run(0, 0.015), run(1, 1.0), run(2, None), run(3, 0.97, 'q')]
    text = robustness.report(runs, ['p'])
    dead = [line for line in text.splitlines() if 'dead' in line]
    assert dead == ['* zoom_uniform seed 1: 100.0 % of its test starts on '
                    'the feature grid: a dead regression channel']
    assert 'seed 3' in robustness.report(runs, ['q'])
    assert 'dead' not in robustness.report(runs[:1], ['p'])


def test_scored_detections_carry_the_grid_share(tmp_path):
    """score_detections stores boundaries_on_grid of the run's detections
    with its mAP (the report's dead-channel lines read it)."""
    robustness = _tool()
    data, run = tmp_path / 'data', tmp_path / 'run'
    (data / 'features').mkdir(parents=True)
    run.mkdir()
    db = {f'v{i}': dict(subset='test', duration=60.0, fps=30.0, annotations=[
        dict(label='a', label_id=0, segment=[10.0 + i, 14.0 + i])])
        for i in range(3)}
    (data / 'annotations.json').write_text(json.dumps(dict(
        database=db, generator=dict(feat_stride=4, num_frames=16))))
    np.save(data / 'features' / 'v0.npy', np.zeros((8, 4), np.float32))
    # starts on grid position 70 ((70 * 4 + 8) / 30 s), ends off the grid
    res = {v: [dict(label='a', segment=[288 / 30, 14.0 + i + 0.013],
                    score=0.9)] for i, v in enumerate(db)}
    (run / 'results_test.json').write_text(json.dumps(dict(results=res)))
    m = robustness.score_detections(str(data), str(run), 'test',
                                    str(run / 'run.log'))
    grid = m['boundaries_on_grid']
    assert (grid['start'], grid['end'], grid['num_start']) == (1.0, 0.0, 3)
    assert 0.0 <= m['average_mAP'] <= 1.0


def _proposal_data(root):
    """An ActivityNet-format val split of two 100 s videos: one short
    (5 s), one medium (30 s) and one long (70 s) instance, and proposals
    that hit the short and the long one exactly and miss the medium one."""
    gt = {'v_a': dict(duration_second=100.0, annotations=[
              dict(segment=[10.0, 15.0], label='x'),
              dict(segment=[50.0, 80.0], label='x')]),
          'v_b': dict(duration_second=100.0, annotations=[
              dict(segment=[20.0, 90.0], label='x')])}
    props = {'a': [dict(segment=[10.0, 15.0], score=0.9),
                   dict(segment=[0.0, 5.0], score=0.5)],
             'b': [dict(segment=[20.0, 90.0], score=0.8)]}
    (root / 'anet_anno_val.json').write_text(json.dumps(gt))
    return props


def _proposal_run(tmp_path):
    """:func:`_proposal_data` as both splits of preset 'p' under
    ``tmp_path/data``, and the (empty) folder of its 'bmn' run, seed 0,
    under ``tmp_path/work``: ``(proposals, run folder)``."""
    data = tmp_path / 'data' / 'p-bmn'
    data.mkdir(parents=True)
    props = _proposal_data(data)
    for subset in ('test', 'full'):  # a complete layout: nothing to write
        (data / f'anet_anno_{subset}.json').write_text(
            (data / 'anet_anno_val.json').read_text())
    run = tmp_path / 'work' / 'p' / 'bmn' / 'seed0'
    run.mkdir(parents=True)
    return props, run


def test_proposal_recall_is_split_by_instance_length(tmp_path):
    """AR@100 per length bucket counts each instance in exactly one bucket
    (< 10 %, 10-50 %, >= 50 % of its video); a bucket without instances
    gets its count and no recall."""
    robustness = _tool()
    props = _proposal_data(tmp_path)
    (tmp_path / 'p.json').write_text(json.dumps(dict(results=props)))
    m = robustness.proposal_metrics(str(tmp_path / 'anet_anno_val.json'),
                                    str(tmp_path / 'p.json'))
    assert (m['AR@100_short'], m['num_short']) == (1.0, 1)
    assert (m['AR@100_medium'], m['num_medium']) == (0.0, 1)
    assert (m['AR@100_long'], m['num_long']) == (1.0, 1)
    assert abs(m['AR@100'] - 2 / 3) < 1e-9
    # no short instance: counted as 0, no recall to average
    gt = json.loads((tmp_path / 'anet_anno_val.json').read_text())
    gt['v_a']['annotations'] = gt['v_a']['annotations'][1:]
    (tmp_path / 'anet_anno_val.json').write_text(json.dumps(gt))
    m = robustness.proposal_metrics(str(tmp_path / 'anet_anno_val.json'),
                                    str(tmp_path / 'p.json'))
    assert m['num_short'] == 0 and 'AR@100_short' not in m


def test_rescore_adds_recall_by_length_to_finished_proposal_runs(
        tmp_path, capsys):
    """--rescore fills AR@100 by length of a proposal run scored before
    it existed, from the run's saved proposals, keeping its other
    figures; the report shows the new columns, '-' for unscored runs."""
    robustness = _tool()
    props, run = _proposal_run(tmp_path)
    for subset in ('val', 'test'):
        (run / f'proposals_{subset}.json').write_text(
            json.dumps(dict(results=props)))
    old = {'AR@1': 0.5, 'AR@10': 0.6, 'AR@100': 2 / 3, 'AUC': 60.0,
           'AR@100_short': 1.0, 'num_short': 1}
    (run / 'metrics.json').write_text(json.dumps(dict(
        preset='p', model='bmn', seed=0, test=old, val=old)))
    before = robustness.report(robustness.collect(str(tmp_path / 'work')),
                               ['p'])
    header, row = before.splitlines()[2], before.splitlines()[4]
    assert 'AR@100 medium' in header and 'AR@100 long' in header
    assert row.split('|')[8].strip() == '-'
    robustness.main(['--rescore', '--presets', 'p', '--work-dir',
                     str(tmp_path / 'work'), '--data-root',
                     str(tmp_path / 'data')])
    m = json.loads((run / 'metrics.json').read_text())
    assert (m['test']['AR@100_medium'], m['test']['num_long']) == (0.0, 1)
    assert m['val']['AR@100_short'] == 1.0
    after = robustness.report(robustness.collect(str(tmp_path / 'work')),
                              ['p'])
    assert after.splitlines()[4].split('|')[8].strip().startswith('0.00')
    assert ('* instances (short / medium / long): val 1 / 1 / 1; '
            'test 1 / 1 / 1') in after.splitlines()
    # a run without saved proposals is named and left as it is
    (run / 'proposals_test.json').unlink()
    m['test'].pop('num_medium')
    (run / 'metrics.json').write_text(json.dumps(m))
    robustness.main(['--rescore', '--presets', 'p', '--work-dir',
                     str(tmp_path / 'work'), '--data-root',
                     str(tmp_path / 'data')])
    assert 'no proposals_test.json' in capsys.readouterr().out
    assert 'num_medium' not in json.loads(
        (run / 'metrics.json').read_text())['test']


def test_test_options_rescore_a_finished_run_as_a_variant(
        tmp_path, monkeypatch):
    """--test-options tests a finished run's checkpoint again with the
    options merged into its config (no training), writes the variant's
    metrics beside the run under '<model>+<variant>', reads the splits of
    --data-root (without options: the run's own settings on another draw),
    and refuses an unfinished run or a variant name already scored with
    other options or data."""
    robustness = _tool()
    props, run = _proposal_run(tmp_path)
    (run / 'config.py').write_text(
        "model = dict(type='BMN', bm_score_weight=0.5)\n"
        f"val_evaluator = dict(type='ANetMetric', dump_config=dict("
        f"out='{run}/proposals.json'))\n"
        f"test_evaluator = [dict(type='ANetMetric', dump_config=dict("
        f"out='{run}/proposals.json'))]\n")
    (run / 'last_checkpoint').write_text(str(run / 'epoch_4.pth'))
    (run / 'metrics.json').write_text(json.dumps(dict(
        preset='p', model='bmn', seed=0, test={'AUC': 1.0}, val={})))
    seen, read_from = [], []

    def fake_test(cmd, log):  # tools/test.py: dump where the config says
        from mmengine.config import Config
        cfg = Config.fromfile(cmd[1])
        seen.append((cfg.model.bm_score_weight, cmd[2]))
        # the features of the split it scores, whatever the run trained on
        features = [c for c in cmd if 'data_prefix.video=' in c]
        read_from.append(features[0].split('=', 1)[1])
        outs = {cfg.val_evaluator.dump_config.out,
                cfg.test_evaluator[0].dump_config.out}
        assert len(outs) == 1
        Path(outs.pop()).write_text(json.dumps(dict(results=props)))

    monkeypatch.setattr(robustness, 'run_tool', fake_test)
    argv = ['--presets', 'p', '--models', 'bmn', '--seeds', '0',
            '--work-dir', str(tmp_path / 'work'),
            '--data-root', str(tmp_path / 'data')]
    robustness.main(argv + ['--variant', 'v', '--test-options',
                            'model.bm_score_weight=0.0'])
    out = run / 'variants' / 'v'
    m = json.loads((out / 'metrics.json').read_text())
    assert m['model'] == 'bmn+v'
    assert m['test_options'] == {'model.bm_score_weight': 0.0}
    assert seen == [(0.0, str(run / 'epoch_4.pth'))] * 2
    assert abs(m['val']['AR@100'] - 2 / 3) < 1e-9
    assert (out / 'proposals_test.json').is_file()
    assert not (run / 'proposals_test.json').exists()  # the run's untouched
    assert json.loads((run / 'metrics.json').read_text())['test'] == {
        'AUC': 1.0}
    text = robustness.report(robustness.collect(str(tmp_path / 'work')),
                             ['p'])
    assert any(line.startswith('| bmn+v | 1 |') for line in text.splitlines())
    # cached: same options, no new test
    robustness.main(argv + ['--variant', 'v', '--test-options',
                            'model.bm_score_weight=0.0'])
    assert len(seen) == 2
    with pytest.raises(SystemExit, match='pick another --variant'):
        robustness.main(argv + ['--variant', 'v', '--test-options',
                                'model.bm_score_weight=1.0'])
    with pytest.raises(SystemExit, match='no finished run'):
        robustness.main(argv[:5] + ['1'] + argv[6:] + [
            '--variant', 'w', '--test-options', 'model.bm_score_weight=1.0'])
    with pytest.raises(SystemExit, match='unknown model'):
        robustness.main(argv[:3] + ['nope'] + argv[4:] + [
            '--variant', 'w', '--test-options', 'model.bm_score_weight=1.0'])
    with pytest.raises(SystemExit):  # an unnamed variant: a usage error
        robustness.main(argv + ['--test-options', 'model.x=1'])
    with pytest.raises(SystemExit):  # a variant names a folder
        robustness.main(argv + ['--variant', '../v', '--test-options',
                                'model.x=1'])
    # tuple-valued options compare as stored (JSON lists): still cached
    robustness.main(argv + ['--variant', 't', '--test-options',
                            'model.x=(1,2)'])
    robustness.main(argv + ['--variant', 't', '--test-options',
                            'model.x=(1,2)'])
    assert len(seen) == 4
    data = str(tmp_path / 'data' / 'p-bmn' / 'csv_mean_100')
    assert read_from == [data] * 4
    # no options: the run's own settings on another draw's splits (e.g.
    # more val videos), which are then what the variant's name stands for
    other = tmp_path / 'other'
    shutil.copytree(tmp_path / 'data', other)
    on_other = argv[:-1] + [str(other), '--variant', 'val300']
    robustness.main(on_other)
    m = json.loads((run / 'variants' / 'val300' / 'metrics.json').read_text())
    assert (m['test_options'], m['model']) == ({}, 'bmn+val300')
    assert m['data_dir'] == str(other / 'p-bmn')
    assert seen[-1][0] == 0.5  # the run's own blend weight
    assert read_from[4:] == [str(other / 'p-bmn' / 'csv_mean_100')] * 2
    robustness.main(on_other)  # cached
    assert len(seen) == 6
    with pytest.raises(SystemExit, match='pick another --variant'):
        robustness.main(argv + ['--variant', 'val300'])


def test_a_detector_is_not_retested_on_data_with_other_classes(tmp_path):
    """Label ids index the classes of the file a detector trained on: a
    draw with other classes (here one more) is refused in one line, the
    same classes pass."""
    robustness = _tool()

    def annotations(folder, labels):
        folder.mkdir()
        db = {f'v{i}': dict(subset='test', duration=10.0, annotations=[
            dict(label=name, label_id=lid, segment=[1.0, 2.0])])
            for i, (name, lid) in enumerate(labels)}
        (folder / 'annotations.json').write_text(json.dumps(dict(
            database=db)))

    annotations(tmp_path / 'trained', [('a', 0), ('c', 2)])
    annotations(tmp_path / 'same', [('c', 2), ('a', 0)])
    annotations(tmp_path / 'more', [('a', 0), ('b', 1), ('c', 2)])
    config = tmp_path / 'config.py'
    config.write_text('train_dataloader = dict(dataset=dict(ann_file=%r))\n'
                      % str(tmp_path / 'trained' / 'annotations.json'))
    robustness.check_same_classes(str(config), str(tmp_path / 'same'))
    with pytest.raises(SystemExit, match=r"classes differ .*\['b'\]"):
        robustness.check_same_classes(str(config), str(tmp_path / 'more'))
    with pytest.raises(SystemExit, match='no annotation file'):
        robustness.check_same_classes(str(config), str(tmp_path / 'none'))
