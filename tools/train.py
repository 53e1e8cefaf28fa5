#!/usr/bin/env python
"""Train a temporal action localizer (same arguments as MMAction2's train.py).

Examples::

    python tools/train.py \\
        configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch
    bash tools/dist_train.sh CONFIG 2 [--seed 0]

On a machine without CUDA, ``--launcher pytorch`` uses the gloo backend (see
``mmtal_zoom/compat/``).
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
from mmaction.registry import RUNNERS
from mmtal_zoom.apis.checkpoint import add_trust_args, trust_context
from mmtal_zoom.utils import load_config
from mmtal_zoom.utils.cli import cli_main, set_launcher_and_work_dir


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a temporal action localizer with mmtal_zoom. '
        'Arguments are those of MMAction2\'s tools/train.py.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='dir for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; with no path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (CUDA only)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the optimizer lr by the actual total batch size '
        '(processes x train_dataloader.batch_size, which is per GPU) over '
        'auto_scale_lr.base_batch_size (the total batch the config\'s lr is '
        'for), as mmengine\'s Runner.scale_lr does')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='different seeds for different ranks')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (slower)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=2)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_args(parser, 'the checkpoint given by --resume / load_from')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge command-line arguments into the config (as MMAction2 does)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    set_launcher_and_work_dir(cfg, args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    # mmengine's Runner needs a 'seed' key (None: a random seed, logged)
    randomness = dict(cfg.get('randomness', None) or {})
    randomness.setdefault('seed', None)
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.auto_scale_lr:
        if not (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            raise SystemExit(
                'error: --auto-scale-lr needs auto_scale_lr = dict('
                'base_batch_size=N) in the config (N: the total batch size '
                'its lr is for)')
        cfg.auto_scale_lr.enable = True
    return cfg


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.resume not in (None, 'auto') and not osp.isfile(args.resume):
        raise FileNotFoundError(f'--resume: checkpoint {args.resume} does '
                                'not exist')
    cfg = merge_args(load_config(args.config), args)
    # the opt-in applies to this one file (see mmtal_zoom.apis.checkpoint)
    ckpt = cfg.get('load_from')
    if not ckpt and cfg.get('resume'):
        ckpt = find_latest_checkpoint(cfg.work_dir)
    trust = trust_context(args, ckpt)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    with trust:
        runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
