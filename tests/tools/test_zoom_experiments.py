"""tools/analysis/zoom_experiments.py adaptivity (issue 14): on a tiny ATR +
BDR model (random weights, router spread so tau varies) and the tiny preset,
it reports tau's spread, the boundary AUROC, the zone means, mAP with
snapping on / off, side-by-side latency against the uniform control, and
writes the JSON, the Markdown and the PNG. The AUROC is checked against
hand-computed cases."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.registry import MODELS

REPO = Path(__file__).resolve().parents[2]

TINY = '''
_base_ = [{base!r}]
model = dict(
    data_preprocessor=dict(max_seq_len=192, pad_size_divisor=8),
    backbone=dict(in_channels=32, embed_dims=16, num_heads=2, window_size=5),
    neck=dict(in_channels=16, num_levels=4, num_heads=2, window_size=5),
    head=dict(
        base_head=dict(num_classes=4, in_channels=16, feat_channels=16,
                       prior_generator=dict(
                           strides=[1, 2, 4, 8],
                           regression_ranges=[(0, 4), (4, 8), (8, 16),
                                              (16, 10000)])),
        bdr=dict(in_channels=16, feat_channels=16)))
{extra}
'''


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'zoom_experiments_tool',
        REPO / 'tools' / 'analysis' / 'zoom_experiments.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auroc_matches_hand_computed_cases():
    tool = load_tool()
    assert tool.auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert tool.auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert tool.auroc([0.5] * 4, [0, 1, 0, 1]) == 0.5  # ties count half
    # 1 positive at 0.6 vs negatives 0.2, 0.6, 0.9: (1 + 0.5 + 0) / 3
    assert tool.auroc([0.2, 0.6, 0.9, 0.6], [0, 0, 0, 1]) == \
        pytest.approx(0.5)
    assert math.isnan(tool.auroc([0.1, 0.2], [0, 0]))
    rng = np.random.default_rng(0)
    s, y = rng.random(500), rng.random(500) < 0.3
    pos, neg = s[y], s[~y]
    pairs = (pos[:, None] > neg[None]).mean()
    assert tool.auroc(s, y) == pytest.approx(pairs)


def test_token_zones():
    tool = load_tool()
    z = tool.token_zones(30, [[10.0, 20.0]], 2.0)
    assert z[:8].tolist() == [0] * 8
    assert z[8:13].tolist() == [2] * 5 and z[18:23].tolist() == [2] * 5
    assert z[13:18].tolist() == [1] * 5 and z[23:].tolist() == [0] * 7
    assert (tool.token_zones(5, np.zeros((0, 2)), 2.0) == 0).all()


def test_adaptivity_runs_and_reports(tiny_tal_dataset, tmp_path,
                                     monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # main() chdirs to the repo; undo after
    atr_cfg = tmp_path / 'atr_tiny.py'
    atr_cfg.write_text(TINY.format(
        base=str(REPO / 'configs/zoom' /
                 'temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py'),
        extra=''))
    uni_cfg = tmp_path / 'uniform_tiny.py'
    uni_cfg.write_text(TINY.format(
        base=str(REPO / 'configs/zoom' /
                 'temporal-zoom-uniform-bdr_synthetic-feat_1xb2-30e_'
                 'embedded.py'),
        extra=''))
    # a "trained" checkpoint: random weights, the router's last layer
    # spread so that tau varies from token to token
    import mmtal_zoom  # noqa: F401
    cfg = Config.fromfile(str(atr_cfg))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():
        model.backbone.router.mlp[-1].weight.normal_(0, 1.0)
        model.backbone.router.beta.fill_(-2.5)  # mean tau well below 1
    ckpt = tmp_path / 'atr.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)

    out = tmp_path / 'exp' / 'adaptivity' / 'atr_seed0'
    tool = load_tool()
    res = tool.main([
        'adaptivity', '--config', str(atr_cfg), '--checkpoint', str(ckpt),
        '--uniform-config', str(uni_cfg), '--data-root',
        str(tiny_tal_dataset), '--out', str(out), '--repeats', '1',
        '--latency-seq-len', '256', '--plot-videos', '2'])
    st = res['tau']
    assert st['num_videos'] == 4 and st['num_tokens'] > 100
    assert st['tau_std'] > 0.01  # the spread router varies
    assert 0.0 <= st['boundary_auroc'] <= 1.0
    assert 0.0 <= st['coarse_boundary_auroc'] <= 1.0
    for zone in ('boundary', 'action', 'background'):
        assert 0.0 <= st[f'mean_tau_{zone}'] <= 1.0
        assert st[f'num_tokens_{zone}'] > 0
    assert set(res['map']) == {'on', 'off'}  # BDR snapping switch
    assert all('average_mAP' in m for m in res['map'].values())
    for key in ('latency_test_videos', 'latency_fixed_length'):
        rows = res[key]
        assert list(rows) == ['uniform', 'atr']
        assert rows['uniform']['flops_ratio'] == 1.0
        assert rows['atr']['flops_ratio'] < 1.0  # 1 + tau K < 5 blocks
        assert rows['atr']['latency_ratio'] > 0
        assert rows['uniform']['mean_tau'] == 1.0

    saved = json.loads((out / 'adaptivity.json').read_text())
    assert saved['tau']['boundary_auroc'] == pytest.approx(
        st['boundary_auroc'])
    png = (out / 'tau_timeline.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    md = (out / 'adaptivity.md').read_text()
    assert 'boundary AUROC' in md and 'latency ratio' in md
    assert 'Peak memory' in md and 'coarse boundary probability' in md
    peak = res['peak_memory_fixed_length']
    assert list(peak) == ['uniform', 'atr']
    assert all(r['peak_mem_mb'] > 0 for r in peak.values())
    assert peak['uniform']['peak_mem_ratio'] == 1.0
    # report tabulates it
    capsys.readouterr()
    tool.main(['report', '--work-dir', str(tmp_path / 'exp')])
    table = capsys.readouterr().out
    row = [ln for ln in table.splitlines() if ln.startswith('| atr |')]
    assert len(row) == 1 and f"{st['boundary_auroc']:.3f}" in row[0]


def test_family_curve_configs_change_one_key(tmp_path):
    """The generated curve configs are the repository's ATR + BDR and
    uniform-BDR configs with only the depth or the budget changed."""
    import argparse
    tool = load_tool()
    from _zoom_family import curve_configs
    args = argparse.Namespace(work_dir=str(tmp_path), depths=[1, 3],
                              budgets=[0.5])
    configs = {name: (path, point)
               for name, path, point in curve_configs(args)}
    assert set(configs) == {'zoom-uniform-bdr-d1', 'zoom-uniform-bdr-d3',
                            'zoom-atr-b0.5'}
    base = Config.fromfile(str(REPO / tool.CFG['uniform_bdr']))
    d3 = Config.fromfile(configs['zoom-uniform-bdr-d3'][0])
    assert d3.model.backbone.num_deep == 3
    d3.model.backbone.num_deep = base.model.backbone.num_deep
    assert d3.model.to_dict() == base.model.to_dict()
    atr = Config.fromfile(configs['zoom-atr-b0.5'][0])
    assert atr.model.backbone.router.budget_target == 0.5
    assert configs['zoom-atr-b0.5'][1] == dict(kind='atr', budget=0.5)


def test_family_kd_point_wraps_the_atr_head_and_loads_the_teacher(
        tmp_path):
    """--kd-teacher adds a distilled ATR point: the ATR + BDR config with
    its head (every option kept) inside DistillationHead and a
    DistillationHook on the teacher run's own config and last checkpoint;
    a folder that is not a finished run is refused in one line."""
    import argparse
    tool = load_tool()
    from _zoom_family import curve_configs
    teacher = tmp_path / 'teacher'
    teacher.mkdir()
    args = argparse.Namespace(work_dir=str(tmp_path / 'work'), depths=[4],
                              budgets=[], kd_teacher=str(teacher),
                              kd_budgets=[0.25, 0.5])
    with pytest.raises(SystemExit, match='--kd-teacher .*not a finished'):
        curve_configs(args)
    (teacher / 'config.py').write_text('model = dict()\n')
    (teacher / 'last.pth').write_bytes(b'')
    (teacher / 'last_checkpoint').write_text(str(teacher / 'last.pth'))
    configs = {name: (path, point)
               for name, path, point in curve_configs(args)}
    assert set(configs) == {'zoom-uniform-bdr-d4', 'zoom-atr-b0.25-kd',
                            'zoom-atr-b0.5-kd'}
    path, point = configs['zoom-atr-b0.5-kd']
    assert point == dict(kind='atr_kd', budget=0.5, teacher=str(teacher))
    cfg = Config.fromfile(path)
    base = Config.fromfile(str(REPO / tool.CFG['atr_bdr']))
    assert cfg.model.head.type == 'DistillationHead'
    assert cfg.model.head.student.to_dict() == base.model.head.to_dict()
    assert cfg.model.backbone.router.budget_target == 0.5
    assert [h.type for h in cfg.custom_hooks] == ['DistillationHook']
    assert cfg.custom_hooks[0].teacher_config == str(teacher / 'config.py')
    assert cfg.custom_hooks[0].teacher_checkpoint == str(teacher /
                                                         'last.pth')
    import mmtal_zoom  # noqa: F401
    model = MODELS.build(cfg.model)
    assert type(model.head).__name__ == 'DistillationHead'


def test_family_report_places_atr_against_the_uniform_curve(
        tiny_tal_dataset, tmp_path, monkeypatch, capsys):
    """--report-only on finished runs (tiny models, random weights, given
    metrics): GFLOPs grow with the uniform depth, the ATR point at budget
    0.25 falls between depth 1 and depth 4 and is compared with the curve
    interpolated there; table, JSON and PNG are written."""
    monkeypatch.chdir(tmp_path)
    import mmtal_zoom  # noqa: F401
    family = tmp_path / 'family'
    family.mkdir()
    (family / 'tiny').symlink_to(tiny_tal_dataset)
    work = tmp_path / 'work'
    bases = {'zoom-uniform-bdr-d1': ('temporal-zoom-uniform-bdr', 1, 20.0),
             'zoom-uniform-bdr-d4': ('temporal-zoom-uniform-bdr', 4, 40.0),
             'zoom-atr-b0.25': ('temporal-zoom-atr', 4, 35.0)}
    for name, (base, depth, test_map) in bases.items():
        run = work / 'tiny' / name / 'seed0'
        run.mkdir(parents=True)
        cfg_path = run / 'config.py'
        cfg_path.write_text(TINY.format(
            base=str(REPO / 'configs/zoom' /
                     f'{base}_synthetic-feat_1xb2-30e_embedded.py'),
            # as robustness.py writes it: the run's data in its config
            extra=f"model['backbone']['num_deep'] = {depth}\n"
            'test_dataloader = dict(dataset=dict(ann_file='
            f"{str(tiny_tal_dataset / 'annotations.json')!r}))"))
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(str(cfg_path)).model)
        torch.save(dict(state_dict=model.state_dict()), run / 'last.pth')
        (run / 'last_checkpoint').write_text(str(run / 'last.pth'))
        m = dict(average_mAP=test_map / 100, mAP={'0.7': test_map / 200})
        (run / 'metrics.json').write_text(json.dumps(dict(
            seed=0, test=m, val=m)))
    tool = load_tool()
    points = tool.main(['family', '--report-only', '--preset', 'tiny',
                        '--family-root', str(family), '--work-dir',
                        str(work), '--depths', '1', '2', '4', '--budgets',
                        '0.25', '--seeds', '0'])
    by = {p['name']: p for p in points}
    assert set(by) == set(bases)  # depth 2 was not trained: left out
    d1, d4 = by['zoom-uniform-bdr-d1'], by['zoom-uniform-bdr-d4']
    atr = by['zoom-atr-b0.25']
    assert d1['gflops'] < atr['gflops'] < d4['gflops']
    expected = 20.0 + 20.0 * (atr['gflops'] - d1['gflops']) / (
        d4['gflops'] - d1['gflops'])
    assert atr['uniform_at_same_gflops'] == pytest.approx(expected)
    assert atr['above_uniform_curve'] == pytest.approx(35.0 - expected)
    assert 0 < atr['mean_tau'] < 1
    table = capsys.readouterr().out
    assert 'ATR + BDR, budget 0.25' in table
    assert (work / 'tiny_curve.png').read_bytes()[:4] == b'\x89PNG'
    assert json.loads((work / 'tiny_curve.json').read_text())[0]['name']
