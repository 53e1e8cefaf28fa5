"""Reference check: ActionFormer's official code vs. our reimplementation of
its THUMOS14 recipe, on the same data with the same iteration budget.

The official code is never copied into this repository: point ``--official``
at your own checkout of https://github.com/happyharrycn/actionformer_release
(with its ``libs/utils`` NMS extension built in place: ``cd libs/utils &&
python setup.py build_ext --inplace``) and ``--official-python`` at an
interpreter that has its requirements (tensorboard, pandas, h5py, joblib).
``actionformer_official_run.py`` drives that checkout's own builders on CPU.

Both sides use ActionFormer's stock THUMOS14 I3D recipe
(``configs/thumos_i3d.yaml`` there,
``configs/baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py`` here):
512-d, local window 19, 6 levels, crop 2304, AdamW 1e-4, wd 0.05,
batch 2, linear warm-up then cosine, gradient clipping 1.0. Only the data
(paths, subsets, input dimension, class count) and the schedule length
(``--warmup-epochs`` + ``--epochs``) change, identically on both sides; both
are evaluated with the final raw weights (the official EMA weights are
reported too) by ``tools/eval_detection.py`` on the ``test`` subset. For
each seed the report adds the paired bootstrap interval of ours - official
over the test videos (``compare_detections.py``): a gap inside it is one the
test set cannot tell from zero. It also gives, per run, the share of the
detected starts and ends that lie exactly on the feature grid
(``boundaries_on_grid``; chance: about 0.2 %): a run near 100 % on one side
has a dead regression channel (that distance is 0 at every detection) and
measures that failure, not the other side's code.

``--recipe cpu`` compares our CPU-sized recipe
(``actionformer_synthetic-feat_1xb2-30e_embedded.py``: 128-d, window 9, crop
768, lr 2e-4) with the official code set the same way.

Example (the issue's budget: 2 warm-up + 14 cosine epochs, batch 2, 80
training videos = 640 iterations)::

    python tools/analysis/actionformer_reference.py \\
        --official ~/actionformer_release --official-python ~/af/bin/python \\
        --data data/family/thumos-sparse --warmup-epochs 2 --epochs 14 \\
        --seeds 0 1
"""
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import (fmt_mean_std, markdown_table, read_json,  # noqa: E402
                     run_jobs, run_tool, single_thread_env, write_json)
from compare_detections import compare, format_report  # noqa: E402
from robustness import (adapt_config, grid_shares,  # noqa: E402
                        last_checkpoint, tal_data_info)

from mmtal_zoom.evaluation.functional import dead_boundaries  # noqa: E402
from mmtal_zoom.utils.cli import doc_parser  # noqa: E402

TIOUS = ('0.3', '0.4', '0.5', '0.6', '0.7')
# recipe -> (our config, overrides of the official THUMOS14 I3D config)
RECIPES = {
    # ActionFormer's stock THUMOS14 I3D recipe on both sides
    'thumos14':
    ('configs/baseline/actionformer_i3d-feat_1xb2-35e_thumos14.py', []),
    # our CPU-sized recipe
    # (configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py)
    # written in the official code's terms: 128-d, window 9, crop 768, lr 2e-4
    'cpu': ('configs/baseline/'
            'actionformer_synthetic-feat_1xb2-30e_embedded.py',
            ['model.embd_dim=128', 'model.fpn_dim=128', 'model.head_dim=128',
             'model.n_mha_win_size=9', 'dataset.max_seq_len=768',
             'opt.learning_rate=0.0002']),
}


def parse_args(argv=None):
    p = doc_parser(__doc__, __doc__.split('\n\n')[0])
    p.add_argument('--official', required=True,
                   help='checkout of happyharrycn/actionformer_release')
    p.add_argument('--official-python', default=sys.executable,
                   help='interpreter with the official requirements')
    p.add_argument('--data', required=True,
                   help='TAL-layout dataset (annotations.json + features/) '
                   'with train / test subsets')
    p.add_argument('--recipe', choices=sorted(RECIPES), default='thumos14',
                   help='thumos14: ActionFormer\'s THUMOS14 I3D recipe; cpu: '
                   'our CPU-sized '
                   'actionformer_synthetic-feat_1xb2-30e_embedded.py '
                   'recipe, set the same way in the official code')
    p.add_argument('--epochs', type=int, default=14,
                   help='cosine epochs after the warm-up (both sides)')
    p.add_argument('--warmup-epochs', type=int, default=2)
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--work-dir', default='work_dirs/actionformer_reference')
    p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--sides', nargs='+', default=['official', 'ours'],
                   choices=['official', 'ours'])
    p.add_argument('--bootstrap-samples', type=int, default=1000,
                   help='paired bootstrap draws of the test videos for the '
                   'interval of ours - official (compare_detections.py)')
    return p.parse_args(argv)


def evaluate(data: str, pred: str, out: str, log: str) -> dict:
    run_tool(['tools/eval_detection.py', '--gt',
              osp.join(data, 'annotations.json'), '--pred', pred, '--subset',
              'test', '--out', out, '--no-per-class'], log)
    return read_json(out)


def run_side(args, side: str, seed: int) -> dict:
    """One training + evaluation of ``side`` (``'official'`` | ``'ours'``)
    in ``<work_dir>/<recipe>_<side>_seed<seed>``; a finished run (its
    ``metrics.json`` written) is read back instead."""
    run_dir = osp.abspath(run_dir_of(args, side, seed))
    done = osp.join(run_dir, 'metrics.json')
    if osp.isfile(done):
        return read_json(done)
    os.makedirs(run_dir, exist_ok=True)
    train = dict(official=train_official, ours=train_ours)[side]
    out = train(args, seed, run_dir, osp.join(run_dir, 'run.log'))
    write_json(out, done)
    return out


def train_official(args, seed: int, run_dir: str, log: str) -> dict:
    import subprocess
    info = tal_data_info(args.data)
    cmd = [args.official_python,
           osp.join(osp.dirname(osp.abspath(__file__)),
                    'actionformer_official_run.py'),
           '--repo', osp.abspath(args.official), '--data',
           osp.abspath(args.data), '--out', run_dir, '--input-dim',
           str(info['feat_dim']), '--num-classes', str(info['num_classes']),
           '--epochs', str(args.epochs), '--warmup-epochs',
           str(args.warmup_epochs), '--seed', str(1234567891 + seed)]
    overrides = RECIPES[args.recipe][1]
    if overrides:
        cmd += ['--set'] + overrides
    with open(log, 'a') as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                             env=single_thread_env())
    if rc:
        raise RuntimeError(f'official run failed ({rc}); see {log}')
    out = dict(side='official', seed=seed, run=read_json(
        osp.join(run_dir, 'run.json')))
    for weights in ('raw', 'ema'):
        out[weights] = evaluate(args.data,
                                osp.join(run_dir, f'results_{weights}.json'),
                                osp.join(run_dir, f'metrics_{weights}.json'),
                                log)
    return out


def train_ours(args, seed: int, run_dir: str, log: str) -> dict:
    from mmengine.config import Config
    cfg_path = adapt_config(RECIPES[args.recipe][0], 'det',
                            osp.abspath(args.data),
                            osp.join(run_dir, 'config.py'))
    cfg = Config.fromfile(cfg_path)
    cfg.train_dataloader.batch_size = 2  # the official loader's
    total = args.warmup_epochs + args.epochs
    cfg.train_cfg.update(max_epochs=total, val_begin=total + 1)
    cfg.param_scheduler[0].update(end=args.warmup_epochs)
    cfg.param_scheduler[1].update(begin=args.warmup_epochs, end=total,
                                  T_max=args.epochs)
    cfg.custom_hooks = []  # the final raw weights, like the official side
    cfg.default_hooks.checkpoint.update(interval=total, max_keep_ckpts=1)
    cfg.dump(cfg_path)
    run_tool(['tools/train.py', cfg_path, '--work-dir', run_dir, '--seed',
              str(seed)], log)
    pred = osp.join(run_dir, 'results_raw.json')
    run_tool(['tools/test.py', cfg_path, last_checkpoint(run_dir),
              '--work-dir', run_dir, '--out', pred], log)
    out = dict(side='ours', seed=seed,
               raw=evaluate(args.data, pred,
                            osp.join(run_dir, 'metrics_raw.json'), log))
    return out


def run_dir_of(args, side: str, seed: int) -> str:
    return osp.join(args.work_dir, f'{args.recipe}_{side}_seed{seed}')


def grid_alignment(args, results) -> list:
    """Add ``r['grid'][weights]`` (``robustness.grid_shares`` of the
    run's results file: the 200 best detections per test video) to every
    run and return one line per run whose starts or ends sit on the feature
    grid (``dead_boundaries``: 50 % or more): that distance output is 0 at
    every detection it kept, a dead regression channel."""
    alarms = []
    for r in results:
        if not r:
            continue
        r['grid'] = {}
        for weights in ('raw', 'ema'):
            path = osp.join(run_dir_of(args, r['side'], r['seed']),
                            f'results_{weights}.json')
            if weights not in r or not osp.isfile(path):
                continue
            g = grid_shares(args.data, path)
            r['grid'][weights] = g
            dead = dead_boundaries(g)
            if dead:
                alarms.append(
                    f"{r['side']} seed {r['seed']} ({weights} weights): "
                    + ', '.join(f'{100 * g[b]:.1f} % of its {b}s' for b in
                                dead)
                    + ' lie on the feature grid: its ' + ' and '.join(
                        dead) + ' distance is 0 at every detection it kept '
                    '(a dead regression channel); this run measures that '
                    'failure, not the code (docs/robustness.md)')
    return alarms


def table(results) -> str:
    """Mean ± std over seeds per side and weights; the grid columns list the
    seeds one by one (a mean would hide the one run whose channel died)."""
    rows = []
    for side, weights in (('official', 'raw'), ('official', 'ema'),
                          ('ours', 'raw')):
        rs = sorted((r for r in results if r and r['side'] == side),
                    key=lambda r: r['seed'])
        if not rs:
            continue
        grid = [[f"{100 * r['grid'][weights][b]:.1f}"
                 for r in rs if weights in r.get('grid', {})]
                for b in ('start', 'end')]
        rows.append([f'{side} ({weights} weights)',
                     ', '.join(str(r['seed']) for r in rs)] + [
            fmt_mean_std([r[weights]['mAP'][t] for r in rs], 100)
            for t in TIOUS
        ] + [fmt_mean_std([r[weights]['average_mAP'] for r in rs], 100)] +
            [' / '.join(g) or '-' for g in grid])
    return markdown_table(['code', 'seeds'] + [f'mAP@{t}' for t in TIOUS] +
                          ['avg mAP', 'starts on grid %', 'ends on grid %'],
                          rows)


def paired_comparisons(args) -> list:
    """Per seed with both sides trained: ours against the official raw
    weights on the same test videos, with the paired bootstrap interval of
    the difference (``compare_detections.py``): is the gap larger than what
    the choice of test videos makes?"""
    out = []
    for seed in args.seeds:
        preds = [(side, osp.join(run_dir_of(args, side, seed),
                                 'results_raw.json'))
                 for side in ('official', 'ours')]
        if all(osp.isfile(p) for _, p in preds):
            cmp = compare(osp.join(args.data, 'annotations.json'), preds,
                          ['test'], samples=args.bootstrap_samples)
            print(f'training seed {seed}: ' + format_report(cmp))
            out.append(dict(cmp, seed=seed, bootstrap_seed=cmp['seed']))
    return out


def main(argv=None):
    args = parse_args(argv)
    items = [(side, s) for s in args.seeds for side in args.sides]
    results = run_jobs(lambda it: run_side(args, *it), items, args.jobs)
    alarms = grid_alignment(args, results)
    text = '\n'.join([table(results)] + alarms)
    print(text)
    write_json(dict(results=[r for r in results if r], table=text,
                    dead_channels=alarms, paired=paired_comparisons(args)),
               osp.join(args.work_dir, 'report.json'))
    return text


if __name__ == '__main__':
    main()
