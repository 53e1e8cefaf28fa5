"""tools/analysis/cltdr_ablations.py: the CLTDR-GMG ablation tables as row
configs run by tools/analysis/robustness.py (only --dry-run and the report
here: no training)."""
import argparse
import json
import shlex
import sys
from pathlib import Path

import pytest
from mmengine.config import Config, DictAction

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import cltdr_ablations as abl  # noqa: E402

robustness = abl.robustness  # the module the driver runs

BASE = Config.fromfile(str(REPO / abl.BASE))
PAPER = Config.fromfile(str(REPO / abl.BASE))
PAPER.merge_from_dict(abl.PAPER_MODEL)


def dry_run(tmp_path, capsys, *extra):
    abl.main(['--table', extra[0], '--dry-run', '--work-dir',
              str(tmp_path), *extra[1:]])
    return capsys.readouterr().out.strip().splitlines()


@pytest.mark.parametrize('table', sorted(abl.TABLES))
def test_dry_run_prints_the_robustness_command_and_trains_nothing(
        table, tmp_path, capsys):
    lines = dry_run(tmp_path, capsys, table)
    command = shlex.split(lines[-1])
    assert command[:2] == ['python', 'tools/analysis/robustness.py']
    args = robustness.parse_args(command[2:])
    rows = abl.TABLES[table][1]
    assert len(args.models) == len(rows)
    assert args.seeds == [0, 1, 2]  # >= 3 seeds by default
    from mmtal_zoom.datasets.generators import FAMILY
    assert args.presets == list(FAMILY)
    assert args.work_dir == str(tmp_path)
    # one comment line per row, naming its cfg-options
    assert len(lines) == len(rows) + 2
    for (name, _, options), config in zip(rows, args.models):
        assert Path(config).name == f'cltdr_gmg_embedded-{name}.py'
        cfg = Config.fromfile(config)
        expected = Config.fromfile(str(REPO / abl.BASE))
        expected.merge_from_dict({**abl.PAPER_MODEL, **options})
        assert cfg.model == expected.model, name
        assert cfg.model != PAPER.model or name == 'paper'
    # nothing trained: only the row configs were written
    assert [p.name for p in tmp_path.iterdir()] == ['configs']
    assert any(r[0] == 'paper' for r in rows)


def test_printed_cfg_options_read_back_as_the_row_options():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    for _, rows in abl.TABLES.values():
        for _, _, options in rows:
            if not options:
                continue
            text = abl.format_options(options)
            parsed = parser.parse_args(['--cfg-options', *text.split()])
            assert parsed.cfg_options == options


def test_common_cfg_options_reach_every_row_and_rename_the_runs(
        tmp_path, capsys):
    lines = dry_run(tmp_path, capsys, '10', '--cfg-options',
                    'train_cfg.max_epochs=2', '--seeds', '0', '1', '2', '3',
                    '--presets', 'default')
    args = robustness.parse_args(shlex.split(lines[-1])[2:])
    assert args.seeds == [0, 1, 2, 3] and args.presets == ['default']
    suffix = abl.options_suffix({'train_cfg.max_epochs': 2})
    assert suffix.startswith('-x')
    for config in args.models:
        assert Path(config).stem.endswith(suffix)
        assert Config.fromfile(config).train_cfg.max_epochs == 2


def test_common_options_may_index_a_list_of_the_base_config(
        tmp_path, capsys):
    # a shorter but complete schedule: the cosine's end moves with the
    # epochs; the row config must keep the rest of each scheduler
    lines = dry_run(tmp_path, capsys, '7', '--cfg-options',
                    'train_cfg.max_epochs=12', 'param_scheduler.1.end=12',
                    'param_scheduler.1.T_max=10', '--presets', 'default')
    for config in robustness.parse_args(shlex.split(lines[-1])[2:]).models:
        cfg = Config.fromfile(config)
        assert cfg.train_cfg.max_epochs == 12
        warmup, cosine = cfg.param_scheduler
        assert warmup == BASE.param_scheduler[0]
        assert cosine.type == BASE.param_scheduler[1].type
        assert (cosine.end, cosine.T_max) == (12, 10)
        assert cosine.eta_min == BASE.param_scheduler[1].eta_min


def test_every_row_config_builds(tmp_path, capsys):
    import mmtal_zoom  # noqa: F401
    from mmaction.registry import MODELS
    built = {}
    for table in abl.TABLES:
        lines = dry_run(tmp_path, capsys, table)
        for config in robustness.parse_args(
                shlex.split(lines[-1])[2:]).models:
            if config not in built:
                model = MODELS.build(Config.fromfile(config).model)
                built[config] = sum(p.numel() for p in model.parameters())
    paper = built[str(tmp_path / 'configs' / 'cltdr_gmg_embedded-paper.py')]
    attention = built[str(tmp_path / 'configs' /
                          'cltdr_gmg_embedded-global_attention.py')]
    assert attention > paper  # Table 8


def test_report_is_mean_and_std_over_seeds(tmp_path, capsys):
    rows = abl.TABLES['10'][1]
    for i, (name, _, _) in enumerate(rows):
        for seed in range(3):
            run = f'cltdr_gmg_embedded-{name}'
            out = tmp_path / 'default' / run / f'seed{seed}'
            out.mkdir(parents=True)
            score = 0.1 * (i + 1) + 0.01 * seed
            split = dict(average_mAP=score, mAP={'0.5': score, '0.7': score})
            (out / 'metrics.json').write_text(json.dumps(
                dict(preset='default', model=run, seed=seed, test=split,
                     val=split)))
    text = abl.main(['--table', '10', '--report-only', '--presets',
                     'default', '--work-dir', str(tmp_path)])
    assert 'Table 10' in text and '### default' in text
    for i, (_, label, _) in enumerate(rows):
        line = next(ln for ln in text.splitlines()
                    if ln.startswith(f'| {label} |'))
        assert f'{10 * (i + 1) + 1:.2f} ± 1.00' in line  # mean 0.1 i + .01
        assert '| 3 |' in line
    assert (tmp_path / 'table10.md').read_text().strip() == text.strip()


def test_paper_model_pin_is_the_papers_thumos14_setting():
    """``PAPER_MODEL`` changes nothing in the paper's THUMOS14 config, so
    the pin cannot drift from the paper's model; the CPU config differs from
    it (else the pin would be needless)."""
    thumos14 = str(REPO / 'configs' / 'cltdr_gmg' /
                   'cltdr-gmg_i3d-feat_1xb2-40e_thumos14.py')
    paper = Config.fromfile(thumos14)
    pinned = Config.fromfile(thumos14)
    pinned.merge_from_dict(abl.PAPER_MODEL)
    assert pinned.model == paper.model
    assert PAPER.model != BASE.model
