"""``zoom_experiments.py``'s training runs: the models of docs/zoom.md, their
configs on the experiment's data and short schedule, and the ``_run`` /
``compare`` / ``budgets`` / ``kd`` sub-commands."""
import json
import os
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _common import (REPO, read_json, require_embedded_dataset,  # noqa
                     run_logged, train_timed, write_json)

# the command line that trains one run (``_run``)
TOOL = osp.join(osp.dirname(osp.abspath(__file__)), 'zoom_experiments.py')
CFG = {
    'uniform':
    'configs/zoom/temporal-zoom-uniform_synthetic-feat_1xb2-30e_embedded.py',
    'atr':
    'configs/zoom/temporal-zoom-atr-nobdr_synthetic-feat_1xb2-30e_embedded.py',
    'atr_bdr':
    'configs/zoom/temporal-zoom-atr_synthetic-feat_1xb2-30e_embedded.py',
    'baseline':
    'configs/baseline/actionformer_synthetic-feat_1xb2-30e_embedded.py',
    'baseline_bdr':
    'configs/zoom/actionformer-bdr_synthetic-feat_1xb2-30e_embedded.py',
    # matched uniform controls: equal parameters / equal FLOPs
    'uniform_bdr': 'configs/zoom/'
    'temporal-zoom-uniform-bdr_synthetic-feat_1xb2-30e_embedded.py',
    'uniform_d1': 'configs/zoom/'
    'temporal-zoom-uniform-d1_synthetic-feat_1xb2-30e_embedded.py',
    'uniform_d1_bdr': 'configs/zoom/'
    'temporal-zoom-uniform-d1-bdr_synthetic-feat_1xb2-30e_embedded.py',
}
# what ``compare`` trains unless --models says otherwise
COMPARE_DEFAULT = ['uniform', 'atr', 'atr_bdr', 'baseline', 'baseline_bdr']
# kd variants: run-name suffix and DistillationHead options
KD_TERMS = {
    'cls_reg': ('', dict(reg_index=1)),
    'cls': ('_cls', dict(reg_index=None)),
    'reg': ('_reg', dict(reg_index=1, cls_weight=0.0)),
}


def num_classes_of(data_root: str) -> int:
    with open(osp.join(data_root, 'annotations.json')) as f:
        db = json.load(f)['database']
    return len({a['label'] for v in db.values()
                for a in v.get('annotations', [])})


def detection_heads(head_cfg):
    """The head configs that own ``num_classes`` (through wrappers)."""
    out = []
    if 'base_head' in head_cfg:
        out += detection_heads(head_cfg['base_head'])
    elif 'student' in head_cfg:
        out += detection_heads(head_cfg['student'])
    else:
        out.append(head_cfg)
    return out


def load_config(config: str, args, budget: Optional[float] = None):
    """The config with the experiment's data, classes and schedule."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    for head in detection_heads(cfg.model.head):
        head['num_classes'] = num_classes_of(args.data_root)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.ann_file = osp.join(args.data_root,
                                               'annotations.json')
        cfg[split].dataset.data_prefix = dict(
            feature=osp.join(args.data_root, 'features'))
    # the short schedule, identical for every model
    epochs = args.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_begin = epochs + 1  # final weights only
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True)]
    if epochs > 1:
        cfg.param_scheduler.append(
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                 end=epochs, T_max=epochs - 1, eta_min=1e-6,
                 convert_to_iter_based=True))
    cfg.model.data_preprocessor.max_seq_len = args.crop
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'RandomTruncateTAL':
            t['max_seq_len'] = args.crop
    if budget is not None:
        cfg.model.backbone.router.budget_target = budget
    if getattr(args, 'tiny', False):
        shrink_tiny(cfg, args.data_root)
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def feature_dim_of(data_root: str) -> int:
    import numpy as np
    folder = osp.join(data_root, 'features')
    first = sorted(os.listdir(folder))[0]
    return int(np.load(osp.join(folder, first), mmap_mode='r').shape[1])


def shrink_tiny(cfg, data_root: str, dims: int = 32) -> None:
    """``--tiny``: the sizes of tests/test_learning_smoke.py (``dims``-d,
    4 levels, window 5), input width from the data."""
    m = cfg.model
    m.data_preprocessor.pad_size_divisor = 8
    m.backbone.update(in_channels=feature_dim_of(data_root),
                      embed_dims=dims, window_size=5)
    m.neck.update(in_channels=dims, num_levels=4, window_size=5)
    for head in detection_heads(m.head):
        head.update(in_channels=dims, feat_channels=dims)
        head.prior_generator.update(
            strides=[1, 2, 4, 8],
            regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)])
    if 'bdr' in m.head:
        m.head.bdr.update(in_channels=dims, feat_channels=dims)


def cmd_run(args):
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.runner import Runner

    import mmtal_zoom  # noqa: F401

    cfg = load_config(args.config, args, args.budget)
    cfg.work_dir = args.run_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    if args.teacher:
        teacher_cfg = load_config(args.teacher_config, args).model
        cfg.model.head = dict(type='DistillationHead',
                              student=cfg.model.head, temperature=1.0,
                              **KD_TERMS[args.kd_term][1])
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='DistillationHook', teacher_config=teacher_cfg,
                 teacher_checkpoint=args.teacher)]
    runner = Runner.from_cfg(cfg)
    train_s, iters = train_timed(runner)
    val = runner.val()
    test = runner.test()
    write_json(dict(config=args.config, seed=args.seed, budget=args.budget,
                    teacher=args.teacher, kd_term=args.kd_term if
                    args.teacher else None, train_s=train_s, iters=iters,
                    s_per_iter=train_s / max(iters, 1), val=val, test=test,
                    max_epochs=args.max_epochs, crop=args.crop),
               osp.join(args.run_dir, 'metrics.json'))


def run_training(args, name: str, config: str, seed: int,
                 budget: Optional[float] = None,
                 teacher: Optional[str] = None,
                 kd_term: str = 'cls_reg') -> Dict:
    run_dir = osp.join(args.work_dir, 'runs', f'{name}_seed{seed}')
    out = osp.join(run_dir, 'metrics.json')
    if not osp.isfile(out):
        require_embedded_dataset(args.data_root)
        cmd = [sys.executable, TOOL, '_run', '--config',
               config, '--seed', str(seed), '--run-dir', run_dir,
               '--data-root', args.data_root, '--work-dir', args.work_dir,
               '--max-epochs', str(args.max_epochs), '--crop',
               str(args.crop), '--threads', str(args.threads)]
        if budget is not None:
            cmd += ['--budget', str(budget)]
        if args.tiny:
            cmd += ['--tiny']
        if args.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in
                                        args.cfg_options.items()]
        if teacher:
            cmd += ['--teacher', teacher, '--teacher-config', CFG['uniform'],
                    '--kd-term', kd_term]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        run_logged(cmd, run_dir, f'{name} seed {seed}', env=env, cwd=REPO,
                   announce_done=True)
    return read_json(out)


def run_all(args, jobs: List[tuple]) -> List[Dict]:
    with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = [pool.submit(run_training, args, *job) for job in jobs]
        return [f.result() for f in futures]


def cmd_compare(args):
    jobs = [(name + args.tag, CFG[name], seed) for seed in args.seeds
            for name in args.models]
    run_all(args, jobs)


def cmd_budgets(args):
    run_all(args, [(f'atr_bdr_b{b:g}', CFG['atr_bdr'], 0, b)
                   for b in args.budgets])


def cmd_kd(args):
    teacher = osp.join(args.work_dir, 'runs', 'uniform_seed0',
                       'epoch_%d.pth' % args.max_epochs)
    if not osp.isfile(teacher):
        raise FileNotFoundError(f'{teacher} is missing: run "compare" with '
                                'seed 0 and the uniform model first.')
    run_all(args, [('atr_bdr_kd' + KD_TERMS[t][0], CFG['atr_bdr'], seed,
                    None, teacher, t)
                   for seed in args.seeds for t in args.kd_terms])
