#!/usr/bin/env python
"""The main job on the embedded default, end to end.

1. generate the embedded dataset (``data/embedded``) if it is absent;
2. train the uniform baseline
   (``configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py``);
3. evaluate the last checkpoint on the embedded ``test`` split: print the mAP
   table and write, under the work dir, ``results.json`` (ActivityNet-format
   predictions), ``metrics.json`` and ``timeline.png`` (predictions against
   ground truth for a few test videos).

Example::

    python tools/demo.py --work-dir work_dirs/demo
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmtal_zoom.utils import load_config
from mmtal_zoom.utils.cli import cli_main

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the embedded dataset if needed, train a '
        'config on it, evaluate on its test split, save predictions, '
        'metrics and a timeline plot.')
    parser.add_argument(
        '--config',
        default=osp.join(REPO_ROOT, 'configs', 'baseline',
                         'actionformer_synthetic-feat_1xb2-30e_embedded.py'),
        help='config to train (default: the uniform baseline)')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='where checkpoints, logs and results go')
    parser.add_argument('--data-root', default='data/embedded',
                        help='embedded dataset folder (generated if absent)')
    parser.add_argument('--preset', default='default',
                        help='generator preset when the dataset is absent')
    parser.add_argument('--seed', type=int, default=0,
                        help='training seed (the dataset seed is fixed)')
    parser.add_argument('--num-plot', type=int, default=4,
                        help='test videos drawn in timeline.png')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=2')
    return parser.parse_args(argv)


def set_data_root(cfg, data_root):
    """Point every dataloader of ``cfg`` at ``data_root``."""
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if loader is None:
            continue
        loader.dataset.ann_file = osp.join(data_root, 'annotations.json')
        loader.dataset.data_prefix = dict(
            feature=osp.join(data_root, 'features'))


def print_table(metrics):
    keys = sorted(k for k in metrics if '/mAP@' in k)
    print('\nEmbedded test split — detection mAP (%)')
    print(' | '.join(['tIoU'] + [k.split('@')[1] for k in keys] + ['avg']))
    avg = next((v for k, v in metrics.items() if k.endswith('average_mAP')),
               float('nan'))
    print(' | '.join(['mAP'] + [f'{100 * metrics[k]:.2f}' for k in keys] +
                     [f'{100 * avg:.2f}']))


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
    from mmtal_zoom.datasets.generators import make_embedded_dataset
    from mmtal_zoom.utils import atomic_write_json
    from mmtal_zoom.visualization import plot_detection_timelines

    cfg = load_config(args.config)  # a bad --config fails first
    make_embedded_dataset(args.data_root, preset=args.preset)

    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed)
    set_data_root(cfg, args.data_root)
    results_file = osp.join(args.work_dir, 'results.json')
    cfg.test_evaluator = dict(cfg.test_evaluator, out_file=results_file)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)

    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    atomic_write_json({k: float(v) for k, v in metrics.items()},
                      osp.join(args.work_dir, 'metrics.json'))
    print_table(metrics)

    with open(osp.join(args.data_root, 'annotations.json')) as f:
        database = json.load(f)['database']
    with open(results_file) as f:
        results = json.load(f)['results']
    classes = runner.test_dataloader.dataset.metainfo['classes']
    name_to_id = {c: i for i, c in enumerate(classes)}
    videos = []
    for name in sorted(results)[:args.num_plot]:
        info, preds = database[name], results[name]
        videos.append(dict(
            video_name=name, duration=info['duration'],
            gt_segments=[a['segment'] for a in info['annotations']],
            gt_labels=[name_to_id[a['label']] for a in info['annotations']],
            pred_segments=[p['segment'] for p in preds],
            pred_scores=[p['score'] for p in preds],
            pred_labels=[name_to_id[p['label']] for p in preds]))
    plot = plot_detection_timelines(
        videos, osp.join(args.work_dir, 'timeline.png'), classes,
        title=f'{osp.basename(args.config)} on the embedded test split')
    print(f'\npredictions: {results_file}\nmetrics:     '
          f'{osp.join(args.work_dir, "metrics.json")}\nplot:        {plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
