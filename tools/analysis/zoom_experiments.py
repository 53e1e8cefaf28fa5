"""The measurements of docs/zoom.md (Temporal Zoom Networks).

Sub-commands (JSON under ``--work-dir``; training runs are resumable: a run
whose ``metrics.json`` exists is not repeated):

* ``bench``: ``tools/benchmark.py`` on the uniform-depth network, ATR alone
  and ATR + BDR at every ``--seq-lens`` T (random weights: the router spends
  exactly its budget on every token), inference (tensor mode): GFLOPs on the
  executed graph, CPU latency (median; ratios come from one run), peak
  memory.
* ``compare``: the embedded benchmark — uniform depth, ATR, ATR + BDR, the
  #2 baseline and baseline + BDR, ``--seeds`` each, one schedule for all;
  train on ``train``, evaluate the final weights (raw, not EMA:
  ``Runner.val()`` re-runs ``EMAHook.before_run``, which re-seeds the
  average) on ``val`` and ``test``: no checkpoint or setting is chosen on
  ``test``.
* ``budgets``: ATR + BDR trained at other budgets (``--budgets``) for the
  mAP-vs-GFLOPs Pareto plot.
* ``kd``: ATR + BDR distilled from the uniform-depth model of ``compare``
  (its seed-0 checkpoint), same schedule; ``--kd-terms`` picks the KD terms
  (both, classification only, regression only: one run each).
* ``cost``: measured on trained weights and real (test) videos — GFLOPs and
  CPU latency of uniform vs ATR models, with the mean depth actually used;
  and the training cost per step (forward + backward, random weights, T =
  the training crop, batch 4): uniform, ATR, ATR + BDR and ATR + BDR with
  distillation (teacher forward included), interleaved rounds, median.
* ``pareto``: the PNG (test mAP vs inference GFLOPs per video).
* ``report``: Markdown tables of everything measured so far.
* ``adaptivity``: one trained ATR checkpoint + its config on the
  test split — the std of tau over tokens, the AUROC of tau for tokens within
  ``--boundary-radius`` (2) snippets of a ground-truth start / end against
  the rest, the mean tau in boundary / action / background zones, a PNG of
  tau over time against the ground truth for ``--plot-videos`` videos, test
  mAP with BDR snapping on and off (when the head has the switch), and
  inference GFLOPs / CPU latency of these trained weights against a
  uniform-depth control side by side in one run (interleaved rounds,
  median; ratios), on the test videos at their own lengths and at
  ``--latency-seq-len`` (test features concatenated to that length). Writes
  ``adaptivity.json``, ``adaptivity.md`` and ``tau_timeline.png`` under
  ``--out``.
* ``family``: the seed's Fig. 3 on a benchmark-family preset
  (``--preset``): ATR + BDR at every ``--budgets`` and its equal-parameter
  uniform control at every ``--depths`` (1..K), ``--seeds`` each, trained by
  ``robustness.py`` with the configs' own schedule (only the data changed);
  then GFLOPs per test video with the trained weights, mean / std of tau,
  test and val mAP, and each ATR point against the uniform curve
  interpolated at its GFLOPs. Writes ``<preset>_curve.{json,md,png}`` under
  ``--work-dir``.

The schedule of the embedded runs is shorter than the configs' (12 epochs,
768-snippet crops): ``--max-epochs`` (default 6, 1 warm-up epoch + cosine)
and ``--crop`` (default 384 snippets) apply to every model alike, to fit
the 2-core CPU budget. Example (the commands behind docs/zoom.md)::

    python tools/analysis/zoom_experiments.py bench
    python tools/analysis/zoom_experiments.py compare --seeds 0 1 2 --jobs 2
    python tools/analysis/zoom_experiments.py budgets --budgets 0.1 0.5
    python tools/analysis/zoom_experiments.py kd --seeds 0 \\
        --kd-terms cls_reg cls reg
    python tools/analysis/zoom_experiments.py cost
    python tools/analysis/zoom_experiments.py pareto
    python tools/analysis/zoom_experiments.py report \\
        > work_dirs/zoom_exp/report.md
    python tools/analysis/zoom_experiments.py adaptivity \\
        --config configs/zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_\\
embedded.py --checkpoint work_dirs/zoom_exp/runs/atr_bdr_seed0/epoch_6.pth \\
        --uniform-config configs/zoom/temporal-zoom-uniform-bdr_synthetic-\\
feat_1xb2-30e_embedded.py \\
        --out work_dirs/zoom_exp/adaptivity/atr_bdr_seed0
    python tools/analysis/zoom_experiments.py family --preset thumos-sparse \\
        --depths 1 2 3 4 --budgets 0.1 0.25 0.5 0.75 --seeds 0 1 2 \\
        --jobs 2 --work-dir work_dirs/zoom_pareto
    python tools/analysis/zoom_experiments.py family --preset thumos-sparse \\
        --depths 1 2 4 --budgets 0.25 0.5 0.75 --seeds 0 --jobs 2 \\
        --work-dir work_dirs/zoom_pareto --kd-teacher \\
        work_dirs/zoom_pareto/thumos-sparse/zoom-uniform-bdr-d4/seed0
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# the sub-commands live in _zoom_*.py beside this file
from _common import REPO  # noqa: E402
from _zoom_adaptivity import auroc, cmd_adaptivity, token_zones  # noqa
from _zoom_cost import cmd_bench, cmd_cost  # noqa: E402
from _zoom_family import cmd_family  # noqa: E402
from _zoom_report import cmd_pareto, cmd_report  # noqa: E402
from _zoom_runs import (CFG, COMPARE_DEFAULT, KD_TERMS,  # noqa: E402
                        cmd_budgets, cmd_compare, cmd_kd, cmd_run)

from mmtal_zoom.utils.cli import add_switches, doc_parser  # noqa: E402

__all__ = ['main', 'parse_args', 'auroc', 'token_zones']


def parse_args(argv=None):
    p = doc_parser(
        __doc__,
        'Re-run the Temporal Zoom (ATR + BDR) measurements of '
        'docs/zoom.md on the embedded benchmark.')
    p.add_argument('command', choices=['bench', 'compare', 'budgets', 'kd',
                                       'cost', 'pareto', 'report',
                                       'adaptivity', 'family', '_run'])
    p.add_argument('--work-dir', default='work_dirs/zoom_exp')
    p.add_argument('--data-root', default='data/embedded')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--models', nargs='+', default=COMPARE_DEFAULT,
                   choices=list(CFG), help='compare: which models')
    p.add_argument('--budgets', type=float, nargs='+', default=[0.1, 0.5],
                   help='budgets: extra ATR budgets (0.25 is compare\'s)')
    p.add_argument('--seq-lens', type=int, nargs='+',
                   default=[512, 2304, 8192], help='bench: T')
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads per process')
    p.add_argument('--jobs', type=int, default=1,
                   help='training runs in parallel')
    p.add_argument('--max-epochs', type=int, default=6)
    p.add_argument('--crop', type=int, default=384,
                   help='training crop (max_seq_len) in snippets')
    add_switches(p, {
        '--tiny':
            'shrink every model to 32-d, 4 pyramid levels, '
            'window 5 (the learning smoke test\'s sizes; input '
            'width from the data): minute-long CPU runs on the tiny '
            'preset, for checks, not for the benchmark tables',
    })
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   default=None, help='compare / adaptivity: override '
                   'config keys of every model (mmengine syntax, e.g. '
                   'model.backbone.relaxation=clamp)')
    p.add_argument('--tag', default='',
                   help='compare: suffix of the run names (ablations '
                   'with --cfg-options)')
    p.add_argument('--kd-terms', nargs='+',
                   default=['cls_reg', 'cls', 'reg'],
                   choices=list(KD_TERMS),
                   help='kd: which distillation terms, one run each '
                   '(cls_reg: loss_kd_cls + loss_kd_reg -> atr_bdr_kd; '
                   'cls: loss_kd_cls only -> atr_bdr_kd_cls; reg: '
                   'loss_kd_reg only -> atr_bdr_kd_reg)')
    # adaptivity
    p.add_argument('--config', help='adaptivity: the ATR config')
    p.add_argument('--checkpoint', help='adaptivity: its trained weights')
    p.add_argument('--uniform-config', default=None,
                   help='adaptivity: the uniform-depth control for latency '
                   '(default: temporal-zoom-uniform-bdr_... if the ATR head '
                   'is a BDRRefinedHead, else temporal-zoom-uniform_...)')
    p.add_argument('--uniform-checkpoint', default=None,
                   help='adaptivity: the control\'s weights (default: '
                   'random; a uniform-depth network\'s tensor-mode cost '
                   'does not depend on its weights)')
    p.add_argument('--out', default='work_dirs/zoom_exp/adaptivity',
                   help='adaptivity: output folder')
    p.add_argument('--boundary-radius', type=float, default=2.0,
                   help='adaptivity: boundary zone, snippets either side')
    p.add_argument('--plot-videos', type=int, default=4)
    p.add_argument('--latency-seq-len', type=int, default=2304)
    p.add_argument('--max-videos', type=int, default=None,
                   help='adaptivity / family: only the first N test videos '
                   '(family: for the GFLOPs)')
    # family
    p.add_argument('--preset', default='thumos-sparse',
                   help='family: the benchmark-family preset')
    p.add_argument('--family-root', default='data/family',
                   help='family: one folder per preset (robustness.py\'s '
                   '--data-root)')
    p.add_argument('--depths', type=int, nargs='+', default=[1, 2, 3, 4],
                   help='family: uniform depths (deep blocks of K = 4)')
    p.add_argument('--kd-teacher', default=None, metavar='RUN_DIR',
                   help='family: also train ATR + BDR distilled from this '
                   'trained run (e.g. <work-dir>/<preset>/zoom-uniform-bdr-'
                   'd4/seed0: its config.py and last checkpoint)')
    p.add_argument('--kd-budgets', type=float, nargs='+', default=[0.25],
                   help='family: budgets of the distilled ATR points')
    add_switches(p, {'--report-only': 'family: measure and plot the '
                     'finished runs, train nothing'})
    # internal: one training run
    p.add_argument('--seed', type=int, help=argparse.SUPPRESS)
    p.add_argument('--run-dir', help=argparse.SUPPRESS)
    p.add_argument('--budget', type=float, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument('--teacher', default=None, help=argparse.SUPPRESS)
    p.add_argument('--teacher-config', default=None, help=argparse.SUPPRESS)
    p.add_argument('--kd-term', default='cls_reg', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.chdir(REPO)
    commands = {'bench': cmd_bench, 'compare': cmd_compare,
                'budgets': cmd_budgets, 'kd': cmd_kd, 'cost': cmd_cost,
                'pareto': cmd_pareto, 'report': cmd_report,
                'adaptivity': cmd_adaptivity, 'family': cmd_family,
                '_run': cmd_run}
    return commands[args.command](args)


if __name__ == '__main__':
    main()
