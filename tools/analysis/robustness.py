"""Do the results hold across the benchmark family? Train every compared
model on every preset, as a user would, and print mean +- std.

For each (preset, model, seed) this runs, in a fresh single-threaded
process each, exactly what a user with their own data runs:

1. ``tools/train.py`` on the model's config with only the *data* changed —
   annotation file, feature folder, subsets, class count, feature dimension
   and feature grid (stride, frames per snippet) — never a hyper-parameter;
2. ``tools/test.py`` on the last checkpoint (``--out``) for the ``val`` and
   the ``test`` subset (the config's own test-time weights: the EMA where
   the config has an EMA hook);
3. ``tools/eval_detection.py`` on those predictions (detectors: mAP at
   tIoU 0.3:0.7); proposal generators (BMN, BMN + RCL, read through
   MMAction2's ActivityNet pipeline) are scored by AR@AN / AUC exactly as
   MMAction2's ``ANetMetric`` does, plus AR@100 by the instances' length
   relative to their video (short < 10 %, medium, long >= 50 %: splits can
   differ in that mix, and a model's gain in one bucket can be another's
   loss). Detectors also get the share of their test
   detections' starts and ends that lie exactly on the feature grid
   (``boundaries_on_grid``); the report names every run at 50 % or more,
   whose start or end regression channel died (docs/robustness.md).

Runs are resumable (a run whose metrics exist is skipped) and independent
(``--jobs 2`` trains two at a time, one core each). Models are compared on
``test``; ``val`` is printed beside it because nothing is ever chosen on
``test``.

Examples::

    # the whole family, the four detectors, three seeds (hours on 2 cores)
    python tools/analysis/robustness.py --make-data --seeds 0 1 2 --jobs 2
    # one preset, two models
    python tools/analysis/robustness.py --presets thumos-sparse \\
        --models baseline cltdr_gmg --seeds 0
    # BMN vs BMN + RCL on the ActivityNet-style preset
    python tools/analysis/robustness.py --presets anet-style \\
        --models bmn bmn_rcl --seeds 0 1 2
    # the same checkpoints tested again with other test-time settings
    # (no training): rows 'bmn_rcl+rcl_score' beside 'bmn_rcl'
    python tools/analysis/robustness.py --presets anet-style \\
        --models bmn_rcl --seeds 0 1 2 --variant rcl_score \\
        --test-options model.bm_score_weight=0.0
    # the same checkpoints on 300 val videos: the preset drawn again with
    # its seed and more val videos (every video is drawn from its own name,
    # so train / test and the first 50 val videos are the same ones)
    python tools/make_synthetic_dataset.py --preset anet-style \\
        --num-videos train=200 val=300 test=100 --out big/anet-style
    python tools/analysis/robustness.py --presets anet-style \\
        --models bmn bmn_rcl --seeds 0 1 2 --variant val300 \\
        --data-root big
    python tools/analysis/robustness.py --report-only
"""
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import (REPO, fmt_mean_std, markdown_table, read_json,  # noqa
                     run_jobs, run_tool, write_json)
from mmengine.config import DictAction  # noqa: E402

from mmtal_zoom.evaluation.functional import boundaries_on_grid  # noqa
from mmtal_zoom.evaluation.functional import dead_boundaries  # noqa: E402
from mmtal_zoom.utils import atomic_write_text  # noqa: E402
from mmtal_zoom.utils.cli import add_switches, doc_parser  # noqa: E402

# name -> (config, kind); 'det': TALFeatureDataset + mAP, 'prop': MMAction2
# ActivityNet proposals + AR@AN
MODELS = {
    'baseline': ('configs/baseline/'
                 'actionformer_synthetic-feat_1xb2-30e_embedded.py', 'det'),
    'cltdr_gmg': ('configs/cltdr_gmg/'
                  'cltdr-gmg_synthetic-feat_1xb2-30e_embedded.py', 'det'),
    'zoom_uniform': ('configs/zoom/temporal-zoom-uniform_'
                     'synthetic-feat_1xb2-30e_embedded.py', 'det'),
    'zoom_atr': ('configs/zoom/'
                 'temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
                 'det'),
    'bmn': ('configs/rcl/bmn_synthetic-feat_1xb2-8e_embedded-anet.py', 'prop'),
    'bmn_rcl': ('configs/rcl/'
                'bmn-rcl_synthetic-feat_1xb2-8e_embedded-anet.py', 'prop'),
}
DET_MODELS = ('baseline', 'cltdr_gmg', 'zoom_uniform', 'zoom_atr')
SHORT_FRACTION = 0.1  # "short" proposals' ground truth: < 10 % of the video
# AR@100 per length of the ground truth relative to its video (own buckets:
# "short" is the held-out check's definition; splits of one preset can differ
# in this mix, which moves AUC by itself — docs/robustness.md)
LENGTH_BUCKETS = (('short', 0.0, SHORT_FRACTION), ('medium', SHORT_FRACTION,
                                                   0.5), ('long', 0.5, None))

# the options cltdr_ablations.py shares with this driver: flag -> keywords
SHARED_OPTIONS = {
    '--data-root': dict(default='data/family',
                        help='one folder per preset (default data/family)'),
    '--make-data': dict(action='store_true',
                        help='generate missing presets first'),
    '--jobs': dict(type=int, default=1,
                   help='runs at a time (one core each)'),
}


def add_shared_options(p, *flags: str) -> None:
    """Add the :data:`SHARED_OPTIONS` ``flags`` to ``p``, in that order."""
    for flag in flags:
        p.add_argument(flag, **SHARED_OPTIONS[flag])


def parse_args(argv=None):
    from mmtal_zoom.datasets.generators import FAMILY
    p = doc_parser(__doc__, __doc__.split('\n\n')[0])
    p.add_argument('--presets', nargs='+', default=list(FAMILY),
                   help=f'generator presets (default: the family {FAMILY})')
    p.add_argument('--models', nargs='+', default=list(DET_MODELS),
                   help=f'model names {sorted(MODELS)} or config paths '
                   '(default: the four detectors)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    add_shared_options(p, '--data-root')
    p.add_argument('--work-dir', default='work_dirs/robustness')
    add_shared_options(p, '--make-data', '--jobs')
    p.add_argument('--test-options', nargs='+', action=DictAction,
                   metavar='KEY=VALUE',
                   help='with --variant: these config options (test-time '
                   'settings, e.g. model.bm_score_weight=0.0) merged into '
                   'the runs\' configs')
    p.add_argument('--variant', help='test the finished runs of --presets '
                   '/ --models / --seeds again, without training, on the '
                   'val / test splits of --data-root (e.g. another draw of '
                   'the preset with more val videos) and with '
                   '--test-options if given; reported as <model>+<variant>')
    add_switches(p, {
        '--report-only': 'print the tables of the runs done so far',
        '--rescore':
            're-score the finished runs that lack a metric added since '
            '(detectors: AR@AN / AUC; proposals: AR@100 by length) from '
            'their saved predictions, then report',
    })
    args = p.parse_args(argv)
    if args.test_options and not args.variant:
        p.error('--test-options needs --variant (the name its figures are '
                'reported under)')
    if args.variant and not re.fullmatch(r'[\w.-]+', args.variant):
        p.error(f'--variant {args.variant!r}: letters, digits, _ . - only '
                '(it names a folder)')
    return args


# ----------------------------------------------------------------------
# data
# ----------------------------------------------------------------------
def preset_dir(data_root: str, preset: str, kind: str) -> str:
    return osp.join(data_root, preset + ('-bmn' if kind == 'prop' else ''))


def ensure_data(data_root: str, preset: str, kind: str, make: bool) -> str:
    """The preset's folder (TAL layout; ``kind='prop'``: MMAction2's
    ActivityNet layout, written from the TAL layout unless already there),
    generated when ``make``."""
    from mmtal_zoom.datasets.generators import make_embedded_dataset
    out = preset_dir(data_root, preset, 'prop')
    if kind != 'det' and osp.isfile(osp.join(out, 'anet_anno_full.json')):
        return out
    tal = preset_dir(data_root, preset, 'det')
    if not osp.isfile(osp.join(tal, 'annotations.json')):
        if not make:
            raise SystemExit(f'{tal} has no annotations.json: add '
                             '--make-data or run tools/make_synthetic_'
                             f'dataset.py --preset {preset} --out {tal}')
        make_embedded_dataset(tal, preset=preset, progress=True)
    if kind == 'det':
        return tal
    from mmtal_zoom.datasets.generators.anet_format import write_anet_from_tal
    write_anet_from_tal(tal, out, progress=True)
    return out


def tal_data_info(data_dir: str) -> dict:
    """Class count, feature dimension and grid of a TAL-layout folder."""
    import numpy as np
    ann = read_json(osp.join(data_dir, 'annotations.json'))
    db = ann['database']
    labels = {a['label']: a.get('label_id') for e in db.values()
              for a in e['annotations']}
    first = next(iter(db))
    feat = np.load(osp.join(data_dir, 'features', first + '.npy'),
                   mmap_mode='r')
    # the classes the dataset itself derives (those that occur; a generator
    # asked for N classes may not draw every one), as a user would set it
    return dict(num_classes=len(labels),
                feat_dim=int(feat.shape[1]),
                **feature_grid(ann))


def feature_grid(ann: dict) -> dict:
    """``feat_stride`` / ``num_frames`` of a TAL-layout annotation file's
    content (the generator's, else the field's I3D grid: 4 / 16)."""
    gen = ann.get('generator', {})
    return dict(feat_stride=gen.get('feat_stride', 4),
                num_frames=gen.get('num_frames', 16))


def set_key(node, key: str, value) -> int:
    """Set every ``key`` in a nested dict / list to ``value``; count them."""
    n = 0
    if isinstance(node, dict):
        for k in list(node):
            if k == key:
                node[k] = value
                n += 1
            else:
                n += set_key(node[k], key, value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            n += set_key(item, key, value)
    return n


def adapt_config(config: str, kind: str, data_dir: str, out_path: str
                 ) -> str:
    """Write ``config`` with only the data changed (see the module doc)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config)
                          if not osp.isabs(config) else config)
    run_dir = osp.dirname(out_path)
    if kind == 'det':
        info = tal_data_info(data_dir)
        for key, subset in (('train_dataloader', 'train'),
                            ('val_dataloader', 'val'),
                            ('test_dataloader', 'test')):
            ds = cfg[key]['dataset']
            ds['ann_file'] = osp.join(data_dir, 'annotations.json')
            ds['data_prefix'] = dict(feature=osp.join(data_dir, 'features'))
            ds['subset'] = subset
            ds['feat_stride'] = info['feat_stride']
            ds['num_frames'] = info['num_frames']
        if not set_key(cfg['model'], 'num_classes', info['num_classes']):
            raise SystemExit(f'{config}: no num_classes in the model')
        cfg['model']['backbone']['in_channels'] = info['feat_dim']
    else:
        feat_dir = osp.join(data_dir, 'csv_mean_100')
        for key, subset in (('train_dataloader', 'train'),
                            ('val_dataloader', 'val'),
                            ('test_dataloader', 'test')):
            ds = cfg[key]['dataset']
            ds['ann_file'] = osp.join(data_dir, f'anet_anno_{subset}.json')
            ds['data_prefix'] = dict(video=feat_dir)
        first = read_json(osp.join(data_dir, 'anet_anno_train.json'))
        with open(osp.join(feat_dir, next(iter(first)) + '.csv')) as f:
            cfg['model']['feat_dim'] = len(f.readline().split(','))
        dump_proposals_to(cfg, run_dir)
    cfg.dump(out_path)
    return out_path


def dump_proposals_to(cfg, out_dir: str) -> None:
    """Point the val and test evaluators' proposal dumps (one evaluator or
    a list) at ``out_dir/proposals.json``, where :func:`evaluate` reads
    them."""
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg[key]
        for ev in (evaluators if isinstance(evaluators, (list, tuple))
                   else [evaluators]):
            ev['dump_config'] = dict(
                out=osp.join(out_dir, 'proposals.json'), output_format='json')


# ----------------------------------------------------------------------
# one run
# ----------------------------------------------------------------------
def last_checkpoint(run_dir: str) -> str:
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def proposal_metrics(gt_file: str, results_file: str) -> dict:
    """AR@1/5/10/100 and AUC at tIoU 0.5:0.05:0.95 (MMAction2's
    ``ANetMetric``: ``average_recall_at_avg_proposals``), and AR@100 of the
    ground truth in each of :data:`LENGTH_BUCKETS` (``AR@100_short`` and
    ``num_short``, ...; a bucket with no instance gets only its count, 0)."""
    import numpy as np

    from mmaction.evaluation import average_recall_at_avg_proposals
    gt_db = read_json(gt_file)
    results = read_json(results_file)['results']
    tious = np.linspace(0.5, 0.95, 10)
    out = {}
    for name, low, high in (('all', 0.0, None), ) + LENGTH_BUCKETS:
        ground_truth, proposals, total = {}, {}, 0
        for video, info in gt_db.items():
            vid = video[2:]  # ANetMetric strips the 'v_' prefix
            dur = float(info['duration_second'])
            segs = [a['segment'] for a in info['annotations']
                    if name == 'all' or _in_bucket(
                        a['segment'][1] - a['segment'][0], dur, low, high)]
            if not segs:
                continue
            ground_truth[vid] = np.asarray(segs, dtype=np.float64)
            props = results.get(vid, [])
            proposals[vid] = np.asarray(
                [[p['segment'][0], p['segment'][1], p['score']]
                 for p in props], dtype=np.float64).reshape(-1, 3)
            total += len(props)
        if not ground_truth:
            if name != 'all':
                out[f'num_{name}'] = 0  # scored: no instance of this length
            continue
        recall, _, _, auc = average_recall_at_avg_proposals(
            ground_truth, proposals, total, max_avg_proposals=100,
            temporal_iou_thresholds=tious)
        if name == 'all':
            for n in (1, 5, 10, 100):
                out[f'AR@{n}'] = float(np.mean(recall[:, n - 1]))
            out['AUC'] = float(auc)
        else:
            out[f'AR@100_{name}'] = float(np.mean(recall[:, 99]))
            out[f'num_{name}'] = sum(len(v) for v in ground_truth.values())
    return out


def scored_by_length(split: dict) -> bool:
    """Whether a split's proposal metrics have the :data:`LENGTH_BUCKETS`
    (:func:`proposal_metrics` writes every bucket's count, 0 included)."""
    return all(f'num_{b}' in split for b, _, _ in LENGTH_BUCKETS)


def _in_bucket(length: float, duration: float, low: float,
               high: Optional[float]) -> bool:
    """``low <= length / duration < high`` (no upper bound for ``None``),
    compared as ``length`` against fractions of ``duration``."""
    return length >= low * duration and (high is None or
                                         length < high * duration)


def run_identity(model: str, seed: int, preset: str, work_dir: str):
    """``(config, kind, name, run_dir)`` of one (preset, model, seed)."""
    if model in MODELS:
        (config, kind), name = MODELS[model], model
    else:
        config, kind = model, _kind_of(model)
        name = osp.splitext(osp.basename(model))[0]
    run_dir = osp.abspath(osp.join(work_dir, preset, name, f'seed{seed}'))
    return config, kind, name, run_dir


def run_one(item) -> dict:
    """Train, test and evaluate one (preset, model, seed); cached."""
    preset, model, seed, args = item
    config, kind, name, run_dir = run_identity(model, seed, preset,
                                               args.work_dir)
    done = osp.join(run_dir, 'metrics.json')
    cached = read_json(done)
    if cached is not None:
        return cached
    data_dir = osp.abspath(ensure_data(args.data_root, preset, kind, False))
    os.makedirs(run_dir, exist_ok=True)
    cfg = adapt_config(config, kind, data_dir,
                       osp.join(run_dir, 'config.py'))
    log = osp.join(run_dir, 'run.log')
    run_tool(['tools/train.py', cfg, '--work-dir', run_dir, '--seed',
              str(seed)], log)
    metrics = dict(preset=preset, model=name, seed=seed, config=config)
    metrics.update(evaluate(cfg, last_checkpoint(run_dir), run_dir, kind,
                            data_dir, log))
    write_json(metrics, done)
    return metrics


def evaluate(cfg: str, ckpt: str, out_dir: str, kind: str, data_dir: str,
             log: str) -> dict:
    """Steps 2 and 3 of the module doc: ``{'val': ..., 'test': ...}``
    metrics of ``ckpt`` on the splits of ``data_dir`` (annotations and
    features, whatever data the run trained on), its predictions written
    under ``out_dir``."""
    metrics = {}
    for subset in ('val', 'test'):
        if kind == 'det':
            pred = osp.join(out_dir, f'results_{subset}.json')
            run_tool(['tools/test.py', cfg, ckpt, '--work-dir', out_dir,
                      '--out', pred, '--cfg-options',
                      f'test_dataloader.dataset.subset={subset}',
                      'test_dataloader.dataset.ann_file='
                      + osp.join(data_dir, 'annotations.json'),
                      'test_dataloader.dataset.data_prefix.feature='
                      + osp.join(data_dir, 'features')], log)
            metrics[subset] = score_detections(data_dir, out_dir, subset,
                                               log)
        else:
            gt = osp.join(data_dir, f'anet_anno_{subset}.json')
            run_tool(['tools/test.py', cfg, ckpt, '--work-dir', out_dir,
                      '--cfg-options',
                      f'test_dataloader.dataset.ann_file={gt}',
                      'test_dataloader.dataset.data_prefix.video='
                      + osp.join(data_dir, 'csv_mean_100')], log)
            props = osp.join(out_dir, f'proposals_{subset}.json')
            os.replace(osp.join(out_dir, 'proposals.json'), props)
            metrics[subset] = proposal_metrics(gt, props)
    return metrics


def variant_config(run_config: str, kind: str, options: dict,
                   out_dir: str) -> str:
    """A finished run's config with test-time ``options`` merged in and, for
    proposals, its dumps redirected to ``out_dir``; written to
    ``out_dir/config.py``."""
    from mmengine.config import Config
    cfg = Config.fromfile(run_config)
    cfg.merge_from_dict(options)
    if kind != 'det':
        dump_proposals_to(cfg, out_dir)
    out_path = osp.join(out_dir, 'config.py')
    cfg.dump(out_path)
    return out_path


def check_same_classes(run_config: str, data_dir: str) -> None:
    """A detector's label ids index the classes of the annotation file it
    trained on (by ``label_id``, then name): another draw whose file holds
    other classes would name its detections wrongly. Exit with one line
    if the classes differ."""
    from mmengine.config import Config

    from mmtal_zoom.utils.annotations import classes_from_database
    trained_on = Config.fromfile(run_config).train_dataloader.dataset.ann_file
    other = osp.join(data_dir, 'annotations.json')
    classes = []
    for path in (trained_on, other):
        ann = read_json(path)
        if ann is None or 'database' not in ann:
            raise SystemExit(f'{path}: no annotation file (a "database" '
                             'object) to read the classes from')
        classes.append(classes_from_database(ann['database']))
    theirs, ours = classes
    if theirs != ours:
        raise SystemExit(
            f'{other}: its classes differ from those of {trained_on}, which '
            f'{run_config} trained on ({len(ours)} vs {len(theirs)}; '
            f'not in both: {sorted(set(ours) ^ set(theirs))[:5]}): its '
            'detections would be named wrongly')


def rescore_variant(item) -> dict:
    """Test a finished run's checkpoint again (no training) on the splits
    of ``args.data_root``, with ``args.test_options`` merged into its
    config: its metrics go to ``<run>/variants/<variant>/`` under the model
    name ``<model>+<variant>``; cached (per options and data)."""
    preset, model, seed, args = item
    config, kind, name, run_dir = run_identity(model, seed, preset,
                                               args.work_dir)
    if read_json(osp.join(run_dir, 'metrics.json')) is None:
        raise SystemExit(f'{run_dir}: no finished run to test again with '
                         '--variant (train it first, without it)')
    out_dir = osp.join(run_dir, 'variants', args.variant)
    done = osp.join(out_dir, 'metrics.json')
    cached = read_json(done)
    data_dir = osp.abspath(preset_dir(args.data_root, preset, kind))
    if kind == 'det':
        check_same_classes(osp.join(run_dir, 'config.py'), data_dir)
    # as stored: JSON turns the options' tuples into lists
    options = json.loads(json.dumps(args.test_options or {}))
    if cached is not None:
        scored = (cached.get('test_options') or {},
                  cached.get('data_dir', data_dir))
        if scored != (options, data_dir):
            raise SystemExit(f'{done}: variant {args.variant!r} was scored '
                             f'with options {scored[0]} on {scored[1]}, not '
                             f'{options} on {data_dir}: pick another '
                             '--variant')
        return cached
    os.makedirs(out_dir, exist_ok=True)
    cfg = variant_config(osp.join(run_dir, 'config.py'), kind, options,
                         out_dir)
    metrics = dict(preset=preset, model=f'{name}+{args.variant}', seed=seed,
                   config=config, test_options=options, data_dir=data_dir)
    metrics.update(evaluate(cfg, last_checkpoint(run_dir), out_dir, kind,
                            data_dir, osp.join(out_dir, 'run.log')))
    write_json(metrics, done)
    return metrics


def score_detections(data_dir: str, run_dir: str, subset: str,
                     log: str) -> dict:
    """``tools/eval_detection.py --ar-an`` on a run's saved detections:
    mAP (per tIoU, by length) and class-agnostic AR@AN / AUC (ActivityNet
    protocol), so detectors also appear in the proposal table."""
    pred = osp.join(run_dir, f'results_{subset}.json')
    out = osp.join(run_dir, f'metrics_{subset}.json')
    run_tool(['tools/eval_detection.py', '--gt',
              osp.join(data_dir, 'annotations.json'), '--pred', pred,
              '--subset', subset, '--out', out, '--no-per-class', '--ar-an'],
             log)
    m = read_json(out)
    return dict(average_mAP=m['average_mAP'], mAP=m['mAP'],
                mAP_by_length=m['mAP_by_length'], AUC=m['AR_AUC'],
                boundaries_on_grid=grid_shares(data_dir, pred),
                **{f'AR@{n}': v for n, v in m['AR@AN'].items()})


def grid_shares(data_dir: str, results_file: str) -> dict:
    """:func:`boundaries_on_grid` of a results file on the grid of the
    TAL-layout dataset it was predicted on (its annotation file read once)."""
    ann = read_json(osp.join(data_dir, 'annotations.json'))
    grid = feature_grid(ann)
    return boundaries_on_grid(read_json(results_file)['results'],
                              ann['database'], grid['feat_stride'],
                              grid['num_frames'])


def rescore(args) -> None:
    """Re-score, without training, the finished runs that lack a metric
    added since: detectors without AR@AN (from their saved detections),
    proposal generators without AR@100 by length (from their saved
    proposals)."""
    paths = [osp.join(root, 'metrics.json')
             for root, _, files in os.walk(args.work_dir)
             if 'metrics.json' in files]
    for path in sorted(paths):
        run = read_json(path)
        run_dir = osp.dirname(path)
        if 'average_mAP' not in run.get('test', {}):
            if scored_by_length(run['test']):
                continue
            data_dir = preset_dir(args.data_root, run['preset'], 'prop')
            props = {subset: osp.join(run_dir, f'proposals_{subset}.json')
                     for subset in ('val', 'test')}
            missing = [f for f in props.values() if not osp.isfile(f)]
            if missing:
                print(f'skipped {run_dir}: no {osp.basename(missing[0])} '
                      'to re-score', flush=True)
                continue
            for subset, pred in props.items():
                run[subset] = proposal_metrics(
                    osp.join(data_dir, f'anet_anno_{subset}.json'), pred)
        elif 'AUC' in run['test']:
            continue  # scored with AR@AN already
        else:
            data_dir = osp.join(args.data_root, run['preset'])
            log = osp.join(run_dir, 'run.log')
            for subset in ('val', 'test'):
                run[subset] = score_detections(data_dir, run_dir, subset,
                                               log)
        write_json(run, path)
        print(f'rescored {run_dir}', flush=True)


def _kind_of(config: str) -> str:
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    return ('prop' if cfg.train_dataloader.dataset.type ==
            'ActivityNetDataset' else 'det')


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
def collect(work_dir: str) -> List[dict]:
    runs = []
    if not osp.isdir(work_dir):
        return runs
    for root, _, files in os.walk(work_dir):
        if 'metrics.json' in files:
            runs.append(read_json(osp.join(root, 'metrics.json')))
    return runs


def fmt_every_run(values: List[Optional[float]], scale: float = 1.0) -> str:
    """:func:`fmt_mean_std`, or ``'-'`` unless every run has the figure
    (runs scored before it existed): a mean over some of the seeds would
    read as one over all of them."""
    return fmt_mean_std(values, scale) if None not in values else '-'


def report(runs: List[dict], presets: Optional[List[str]] = None) -> str:
    """Markdown: per preset, one row per model (mean +- std over seeds)."""
    by_key: Dict[tuple, List[dict]] = {}
    for r in runs:
        by_key.setdefault((r['preset'], r['model']), []).append(r)
    order = presets or sorted({p for p, _ in by_key})
    lines = []
    for preset in order:
        rows_det, rows_prop = [], []
        for (p, model), rs in sorted(by_key.items()):
            if p != preset:
                continue
            seeds = len(rs)
            if 'average_mAP' in rs[0]['test']:
                def get(sub, key, t=None):
                    return [(r[sub]['mAP'][t] if t else r[sub][key])
                            for r in rs]
                aucs = [r['test'].get('AUC') for r in rs]
                rows_det.append([
                    model, seeds,
                    fmt_mean_std(get('test', 'average_mAP'), 100),
                    fmt_mean_std(get('test', None, '0.5'), 100),
                    fmt_mean_std(get('test', None, '0.7'), 100),
                    fmt_every_run(aucs),
                    fmt_mean_std(get('val', 'average_mAP'), 100)])
            else:
                def getp(sub, key):
                    return [r[sub].get(key) for r in rs]
                rows_prop.append([
                    model, seeds, fmt_mean_std(getp('test', 'AUC')),
                    fmt_mean_std(getp('test', 'AR@1'), 100),
                    fmt_mean_std(getp('test', 'AR@10'), 100),
                    fmt_mean_std(getp('test', 'AR@100'), 100),
                    *[fmt_every_run(getp('test', f'AR@100_{b}'), 100)
                      for b, _, _ in LENGTH_BUCKETS],
                    fmt_mean_std(getp('val', 'AUC'))])
        if rows_det:
            lines += [f'### {preset}', '', markdown_table(
                ['model', 'seeds', 'test avg mAP', 'test mAP@0.5',
                 'test mAP@0.7', 'test AR AUC', 'val avg mAP'], rows_det),
                ''] + dead_channel_lines(runs, preset)
        if rows_prop:
            lines += [f'### {preset} (proposals)', '', markdown_table(
                ['model', 'seeds', 'test AUC', 'AR@1', 'AR@10', 'AR@100'] +
                [f'AR@100 {b}' for b, _, _ in LENGTH_BUCKETS] + ['val AUC'],
                rows_prop), ''] + bucket_count_lines(runs, preset)
    return '\n'.join(lines)


def bucket_count_lines(runs: List[dict], preset: str) -> List[str]:
    """One line naming how many ground-truth instances of ``preset``'s val
    and test splits fall in each length bucket (from the first proposal run
    scored by length): the mix that the AUC of each split weighs."""
    for r in runs:
        if r['preset'] == preset and scored_by_length(r.get('test', {})):
            parts = [
                f'{subset} ' + ' / '.join(
                    str(r[subset].get(f'num_{b}', 0))
                    for b, _, _ in LENGTH_BUCKETS)
                for subset in ('val', 'test') if scored_by_length(r[subset])]
            names = ' / '.join(b for b, _, _ in LENGTH_BUCKETS)
            return [f'* instances ({names}): ' + '; '.join(parts), '']
    return []


def dead_channel_lines(runs: List[dict], preset: str) -> List[str]:
    """One line per detector run of ``preset`` whose test starts or ends
    lie on the feature grid (a dead regression channel): its mAP counts in
    the table above, but it measures that failure."""
    lines = []
    for r in sorted((r for r in runs if r['preset'] == preset),
                    key=lambda r: (r['model'], r['seed'])):
        grid = r['test'].get('boundaries_on_grid')
        dead = dead_boundaries(grid) if grid else []
        if dead:
            lines.append(
                f"* {r['model']} seed {r['seed']}: " + ', '.join(
                    f'{100 * grid[b]:.1f} % of its test {b}s' for b in dead)
                + ' on the feature grid: a dead regression channel')
    return lines + [''] if lines else []


def main(argv=None):
    args = parse_args(argv)
    if args.rescore:
        rescore(args)
    elif not args.report_only:
        for model in args.models:
            if model not in MODELS and not osp.isfile(model):
                raise SystemExit(f'unknown model {model!r}: a name of '
                                 f'{sorted(MODELS)} or a config path')
        kinds = {MODELS[m][1] if m in MODELS else _kind_of(m)
                 for m in args.models}
        for preset in args.presets:
            for kind in kinds:
                ensure_data(args.data_root, preset, kind, args.make_data)
        items = [(p, m, s, args) for p in args.presets for m in args.models
                 for s in args.seeds]
        # --variant: finished runs, tested again on --data-root's splits
        run_jobs(rescore_variant if args.variant else run_one, items,
                 args.jobs)
    runs = collect(args.work_dir)
    text = report(runs, args.presets)
    print(text)
    # the file covers every preset run so far, so that a run of one preset
    # does not drop the others' tables
    atomic_write_text(report(runs) + '\n',
                      osp.join(args.work_dir, 'report.md'))
    return text


if __name__ == '__main__':
    main()
