#!/usr/bin/env python
"""Test (and evaluate) a temporal action localizer checkpoint.

Same arguments as MMAction2's tools/test.py, plus ``--out`` to write the
predictions as an ActivityNet-format results JSON (the field's format,
readable by ``tools/eval_detection.py``)::

    python tools/test.py CONFIG CHECKPOINT --out work_dirs/results.json
    bash tools/dist_test.sh CONFIG CHECKPOINT 2

A checkpoint that does not provide every weight of the config's model (with
the right shape) is refused before anything is evaluated, with the missing
prefixes (``--min-checkpoint-match`` for a checkpoint known to be partial):
mmengine loads non-strictly, and the rest would be random. So is a
checkpoint whose training classes (stored in its meta) differ from the test
annotation file's: its labels would name the wrong classes.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mmtal_zoom  # noqa: F401  (registers modules, applies compat)
from mmaction.registry import RUNNERS
from mmtal_zoom.apis.checkpoint import (add_trust_args,
                                        check_checkpoint_classes,
                                        check_checkpoint_matches_model,
                                        read_checkpoint, trust_context)
from mmtal_zoom.utils import load_config
from mmtal_zoom.utils.cli import cli_main, ratio, set_launcher_and_work_dir


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a temporal action localizer with mmtal_zoom. '
        'Arguments are those of MMAction2\'s tools/test.py plus --out.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='dir for logs and metrics')
    parser.add_argument(
        '--out', help='write predictions as ActivityNet-format JSON '
        '({"results": {video: [{"label", "segment", "score"}]}})')
    parser.add_argument('--dump', type=str,
                        help='dump raw predictions to a .pkl file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument(
        '--min-checkpoint-match', type=ratio, default=1.0,
        metavar='FRACTION',
        help='refuse a checkpoint that provides less than this fraction of '
        "the model's weights (with the right shapes); the missing ones "
        'would keep random values. Default 1.0; lower it only for a '
        'checkpoint you know to be partial (0 turns the check off)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_args(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _evaluators(cfg):
    ev = cfg.test_evaluator
    return list(ev) if isinstance(ev, (list, tuple)) else [ev]


def merge_args(cfg, args):
    set_launcher_and_work_dir(cfg, args)
    evaluators = _evaluators(cfg)
    if args.out is not None:
        if not args.out.endswith('.json'):
            raise ValueError(f'--out must be a .json file, got {args.out!r}')
        tal = [e for e in evaluators if e.get('type') == 'TALDetectionMetric']
        if not tal:
            raise ValueError(
                '--out needs a TALDetectionMetric in test_evaluator; this '
                'config uses ' + ', '.join(str(e.get('type'))
                                           for e in evaluators))
        tal[0]['out_file'] = args.out
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must be a .pkl file, got {args.dump!r}')
        evaluators.append(dict(type='DumpResults', out_file_path=args.dump))
    cfg.test_evaluator = evaluators
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.load_from = args.checkpoint
    return cfg


@cli_main
def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not '
                                'exist')
    trust = trust_context(args, args.checkpoint)  # refusals come first
    cfg = merge_args(load_config(args.config), args)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    with trust:
        # read once for both checks (the runner loads the weights itself)
        ckpt = read_checkpoint(args.checkpoint)
        if args.min_checkpoint_match > 0:
            check_checkpoint_matches_model(model, args.checkpoint,
                                           args.min_checkpoint_match, ckpt)
        check_checkpoint_classes(
            args.checkpoint,
            runner.test_dataloader.dataset.metainfo.get('classes'), ckpt)
        runner.test()
    return 0


if __name__ == '__main__':
    sys.exit(main())
