"""CLTDR-GMG's ablation tables (paper Tables 6-11), run on the benchmark
family with several seeds.

For the chosen table this driver writes one config per row of the table —
the base config (default ``configs/cltdr_gmg/cltdr_gmg_embedded.py``) plus
that row's ``--cfg-options`` — and hands them all to
``tools/analysis/robustness.py``, which trains, tests and evaluates every
config on every family preset for every seed exactly as a user runs it
(only the data changed, resumable: a run whose metrics exist is skipped).
Then it prints the table: per preset, one line per row of the paper's
table, mean ± std over seeds.

Tables (the row switches; the paper's model is the ``paper`` row of each):

* 6: GMG branches (``model.neck.use_instant / use_local / use_global``);
* 7: GMG gate (``model.neck.gate``: ``paper`` = Eq. 4 nested, ``none``;
  plus ``flat``, an earlier reading of Eq. 4 that is not in the paper);
* 8: GMG global branch (``model.neck.global_mixer``: ``fft`` vs vanilla
  self-attention ``attention``), with the parameter count;
* 9: pyramid layers each task combines (``model.head.cls_layers`` /
  ``reg_layers``: offsets ``1`` = P^(l+1), ``0`` = P^l, ``-1`` = P^(l-1));
  the ``[0]`` rows are DCM / DRM off;
* 10: RefineHead (``model.head.refine_cls`` / ``refine_reg``);
* 11: DCM / DRM fusion (``model.head.fusion``: ``concat`` / ``add`` /
  ``attention``).

The row configs go to ``<work-dir>/configs/<base>-<row>.py``; the runs to
``<work-dir>/<preset>/<base>-<row>/seed<n>/`` (a row shared by two tables,
e.g. ``paper``, is trained once). ``--cfg-options`` applies to every row
(e.g. a shorter schedule); the configs then get a suffix naming a hash of
those options, so runs with other options are never mixed up.

Examples::

    # what would run (writes the row configs, trains nothing)
    python tools/analysis/cltdr_ablations.py --table 9 --dry-run
    # the whole family, 3 seeds, two runs at a time (hours on 2 cores)
    python tools/analysis/cltdr_ablations.py --table 9 --make-data --jobs 2
    # one preset, shorter schedule
    python tools/analysis/cltdr_ablations.py --table 10 --presets default \\
        --cfg-options train_cfg.max_epochs=4
    python tools/analysis/cltdr_ablations.py --table 9 --report-only
"""
import hashlib
import itertools
import os
import os.path as osp
import shlex
import sys
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import robustness  # noqa: E402
from _common import REPO, fmt_mean_std, markdown_table  # noqa: E402

from mmtal_zoom.utils import atomic_write_text  # noqa: E402
from mmtal_zoom.utils.cli import add_switches, doc_parser  # noqa: E402

# The held-out check's path (an alias inheriting the model-zoo name
# cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py unchanged); run folders are
# named after it, so measured tables stay resumable.
BASE = 'configs/cltdr_gmg/cltdr_gmg_embedded.py'
ROBUSTNESS = 'tools/analysis/robustness.py'
MIN_SEEDS = 3
# The paper's model, which every table's ``paper`` row is and every other
# row switches one thing of. The CPU config's own defaults differ from it
# where the family's val splits chose otherwise (no instant branch,
# regression from all three pyramid layers: docs/cltdr_gmg.md), so each row
# pins these rather than inheriting them.
PAPER_MODEL = {
    'model.neck.use_instant': True,
    'model.neck.use_local': True,
    'model.neck.use_global': True,
    'model.head.cls_layers': [1, 0],
    'model.head.reg_layers': [0, -1],
}

GMG_BRANCHES = ('instant', 'local', 'global')


def branch_rows() -> List[Tuple[str, str, dict]]:
    """Table 6's rows: every non-empty subset of the GMG branches, the
    others switched off (all three: the paper's model)."""
    rows = []
    for n in range(1, len(GMG_BRANCHES) + 1):
        for kept in itertools.combinations(GMG_BRANCHES, n):
            off = {f'model.neck.use_{b}': False
                   for b in GMG_BRANCHES if b not in kept}
            rows.append(('gmg_' + '_'.join(kept) if off else 'paper',
                         ' + '.join(kept), off))
    return rows


# table -> (the paper's caption, rows (name, the paper's row label,
# cfg-options)); a row name means the same options in every table
TABLES: Dict[str, Tuple[str, List[Tuple[str, str, dict]]]] = {
    '6': ('The analysis of different temporal granularities',
          branch_rows()),
    '7': ('The impact of gated mechanism in GMG', [
        ('gate_none', 'without gate', {'model.neck.gate': 'none'}),
        ('paper', 'with gate (Eq. 4, nested)', {}),
        ('gate_flat', 'flat reading of Eq. 4 (not in the paper)',
         {'model.neck.gate': 'flat'}),
    ]),
    '8': ('The comparison of global feature extractor in GMG', [
        ('paper', 'FFT', {}),
        ('global_attention', 'self-attention',
         {'model.neck.global_mixer': 'attention'}),
    ]),
    '9': ('Ablation of pyramid layers in CLTDR', [
        ('cls_l', 'cls P_t (DCM off)', {'model.head.cls_layers': [0]}),
        ('paper', 'cls P_t+1, P_t / reg P_t, P_t-1 (paper)', {}),
        ('cls_l_lm1', 'cls P_t, P_t-1',
         {'model.head.cls_layers': [0, -1]}),
        ('cls_all', 'cls P_t+1, P_t, P_t-1',
         {'model.head.cls_layers': [1, 0, -1]}),
        ('reg_l', 'reg P_t (DRM off)', {'model.head.reg_layers': [0]}),
        ('reg_lp1_l', 'reg P_t+1, P_t', {'model.head.reg_layers': [1, 0]}),
        ('reg_all', 'reg P_t+1, P_t, P_t-1',
         {'model.head.reg_layers': [1, 0, -1]}),
    ]),
    '10': ('The effectiveness of refinement in CLTDR', [
        ('refine_none', 'without refinement',
         {'model.head.refine_cls': False, 'model.head.refine_reg': False}),
        ('refine_cls', 'only refine classification',
         {'model.head.refine_reg': False}),
        ('refine_reg', 'only refine regression',
         {'model.head.refine_cls': False}),
        ('paper', 'refine classification and regression', {}),
    ]),
    '11': ('The comparison of fusion strategies in CLTDR', [
        ('fusion_concat', 'concatenation', {'model.head.fusion': 'concat'}),
        ('fusion_add', 'addition', {'model.head.fusion': 'add'}),
        ('paper', 'attention', {}),
    ]),
}


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = doc_parser(__doc__, __doc__.split('\n\n')[0])
    p.add_argument('--table', required=True, choices=list(TABLES),
                   help='the paper table to run')
    p.add_argument('--base', default=BASE,
                   help=f'config every row starts from (default {BASE})')
    p.add_argument('--presets', nargs='+', default=None,
                   help='generator presets (default: the whole family)')
    p.add_argument('--seeds', type=int, nargs='+',
                   default=list(range(MIN_SEEDS)),
                   help=f'training seeds (default {MIN_SEEDS}: 0 1 2)')
    robustness.add_shared_options(p, '--data-root')
    p.add_argument('--work-dir', default='work_dirs/cltdr_ablations')
    robustness.add_shared_options(p, '--jobs', '--make-data')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   default={}, help='options applied to every row, '
                   'e.g. train_cfg.max_epochs=4')
    add_switches(p, {
        '--dry-run':
            'write the row configs and print the commands; '
            'train nothing',
        '--report-only': 'print the table of the runs done so far',
    })
    return p.parse_args(argv)


# ----------------------------------------------------------------------
# row configs
# ----------------------------------------------------------------------
def format_value(value) -> str:
    """A value as ``--cfg-options`` reads it back (mmengine's DictAction)."""
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(format_value(v) for v in value) + ']'
    return str(value)


def format_options(options: dict) -> str:
    return ' '.join(f'{k}={format_value(v)}' for k, v in options.items())


def nest(options: dict) -> dict:
    """``{'model.head.x': 1}`` -> ``{'model': {'head': {'x': 1}}}``."""
    out: dict = {}
    for key, value in options.items():
        node = out
        *parents, leaf = key.split('.')
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def as_python(value) -> str:
    if isinstance(value, dict):
        return 'dict(' + ', '.join(f'{k}={as_python(v)}'
                                   for k, v in value.items()) + ')'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(as_python(v) for v in value) + ']'
    return repr(value)


def options_suffix(common: dict) -> str:
    """``''``, or ``-x`` + 8 hex digits naming the common options."""
    if not common:
        return ''
    return '-x' + hashlib.sha1(
        format_options(dict(sorted(common.items()))).encode()).hexdigest()[:8]


def row_name(base: str, row: str, common: dict) -> str:
    stem = osp.splitext(osp.basename(base))[0]
    return f'{stem}-{row}{options_suffix(common)}'


def write_row_config(path: str, base: str, table: str, label: str,
                     options: dict, common: dict) -> str:
    """A config that inherits ``base`` and sets the paper's model
    (``PAPER_MODEL``), then ``options``, then the ``common`` ones."""
    merged = {**PAPER_MODEL, **options, **common}
    lines = [
        '# Written by tools/analysis/cltdr_ablations.py: CLTDR-GMG paper '
        f'Table {table}, row "{label}".',
        f'# = {base} --cfg-options {format_options(merged) or "(none)"}',
        f'_base_ = [{osp.abspath(osp.join(REPO, base))!r}]',
    ]
    # an option that indexes a list (``param_scheduler.1.end=12``) cannot be
    # written as a nested dict -- mmengine replaces inherited lists whole --
    # so its top-level entry is written in full, read from the base config
    # with every option applied
    listed = {k.split('.')[0] for k in merged
              if any(part.isdigit() for part in k.split('.'))}
    if listed:
        from mmengine.config import Config
        full = Config.fromfile(osp.join(REPO, base))
        full.merge_from_dict(merged)
    for key, value in nest(merged).items():
        value = full[key] if key in listed else value
        lines.append(f'{key} = {as_python(value)}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def table_rows(args) -> List[dict]:
    """The rows of ``args.table``: name, label, options, config path."""
    rows = []
    for name, label, options in TABLES[args.table][1]:
        run = row_name(args.base, name, args.cfg_options)
        # absolute: robustness.py resolves relative configs from the
        # repository root
        config = osp.abspath(osp.join(args.work_dir, 'configs', run + '.py'))
        rows.append(dict(name=run, row=name, label=label, options=options,
                         config=config))
    return rows


def robustness_argv(args, rows: Sequence[dict]) -> List[str]:
    argv = ['--models', *[r['config'] for r in rows], '--presets',
            *args.presets, '--seeds', *[str(s) for s in args.seeds],
            '--data-root', args.data_root, '--work-dir', args.work_dir,
            '--jobs', str(args.jobs)]
    return argv + (['--make-data'] if args.make_data else [])


# ----------------------------------------------------------------------
# table
# ----------------------------------------------------------------------
def param_count(config: str) -> Optional[int]:
    """Parameters of the row's model at the base config's sizes."""
    try:
        from mmengine.config import Config

        import mmtal_zoom  # noqa: F401
        from mmaction.registry import MODELS
        model = MODELS.build(Config.fromfile(config).model)
    except Exception:  # noqa: BLE001 - a column, not the run
        return None
    return sum(p.numel() for p in model.parameters())


def report(args, rows: Sequence[dict], runs: Sequence[dict],
           params: Optional[Dict[str, int]] = None) -> str:
    caption, _ = TABLES[args.table]
    by_key: Dict[tuple, List[dict]] = {}
    for r in runs:
        by_key.setdefault((r['preset'], r['model']), []).append(r)
    header = ['row', 'cfg-options', 'seeds', 'test avg mAP', 'test mAP@0.5',
              'test mAP@0.7', 'val avg mAP']
    if params:
        header.append('params (M)')
    lines = [f'## Table {args.table}: {caption} (base {args.base} set to '
             f'the paper\'s model, {format_options(PAPER_MODEL)}'
             + (f', --cfg-options {format_options(args.cfg_options)}'
                if args.cfg_options else '') + ')', '',
             'mAP in %, mean ± std over seeds; tools/analysis/robustness.py '
             'runs.', '']
    for preset in args.presets:
        table = []
        for row in rows:
            rs = by_key.get((preset, row['name']), [])
            line = [row['label'], format_options(row['options']) or '—',
                    len(rs),
                    fmt_mean_std([r['test']['average_mAP'] for r in rs], 100),
                    fmt_mean_std([r['test']['mAP']['0.5'] for r in rs], 100),
                    fmt_mean_std([r['test']['mAP']['0.7'] for r in rs], 100),
                    fmt_mean_std([r['val']['average_mAP'] for r in rs], 100)]
            if params:
                n = params.get(row['name'])
                line.append('-' if n is None else f'{n / 1e6:.3f}')
            table.append(line)
        lines += [f'### {preset}', '', markdown_table(header, table), '']
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.presets is None:
        from mmtal_zoom.datasets.generators import FAMILY
        args.presets = list(FAMILY)
    if len(args.seeds) < MIN_SEEDS:
        print(f'warning: {len(args.seeds)} seed(s); the tables need at least '
              f'{MIN_SEEDS} for a meaningful std', file=sys.stderr)
    rows = table_rows(args)
    if not args.report_only:
        for row in rows:
            write_row_config(row['config'], args.base, args.table,
                             row['label'], row['options'], args.cfg_options)
        argv_r = robustness_argv(args, rows)
        if args.dry_run:
            print(f'# Table {args.table}: {TABLES[args.table][0]}; '
                  f'{len(rows)} rows x {len(args.presets)} presets x '
                  f'{len(args.seeds)} seeds; every row on the paper\'s '
                  f'model: {format_options(PAPER_MODEL)}')
            for row in rows:
                print(f'# {row["name"]}: {args.base} --cfg-options '
                      f'{format_options(row["options"]) or "(none)"}  '
                      f'[{row["label"]}]')
            print(' '.join(shlex.quote(a) for a in
                           ['python', ROBUSTNESS, *argv_r]))
            return None
        robustness.main(argv_r)
    runs = robustness.collect(args.work_dir)
    params = {r['name']: param_count(r['config']) for r in rows
              if osp.isfile(r['config'])}
    text = report(args, rows, runs, params)
    print(text)
    out = osp.join(args.work_dir, f'table{args.table}.md')
    atomic_write_text(text + '\n', out)
    return text


if __name__ == '__main__':
    main()
