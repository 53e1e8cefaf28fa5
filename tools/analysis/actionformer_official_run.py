"""Train and run ActionFormer's official code on a standard-format dataset.

Runs inside the *official* code's environment (its compiled ``nms_1d_cpu``,
tensorboard, pandas, ...): ``actionformer_reference.py`` starts it as
``PYTHON actionformer_official_run.py --repo CHECKOUT ...``. Nothing of the
official code is copied here: this script imports the user's checkout and
calls its own builders (``load_config``, ``make_dataset``,
``make_meta_arch``, ``make_optimizer``, ``make_scheduler``, ``ModelEma``,
``train_one_epoch``) with its stock THUMOS14 I3D config, overriding only the
data paths, the input dimension, the class count, the epochs and the device
(CPU: ``torch.cuda.synchronize`` becomes a no-op and the model is not wrapped
in ``nn.DataParallel``). Predictions of the final raw weights and of the EMA
weights are written as ActivityNet-format JSON (seconds) for evaluation with
mmtal_zoom's metric.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--repo', required=True, help='official checkout')
    p.add_argument('--data', required=True,
                   help='dataset folder: annotations.json + features/')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--config', default='configs/thumos_i3d.yaml')
    p.add_argument('--input-dim', type=int, required=True)
    p.add_argument('--num-classes', type=int, required=True)
    p.add_argument('--epochs', type=int, required=True,
                   help='cosine epochs (excluding warm-up)')
    p.add_argument('--warmup-epochs', type=int, required=True)
    p.add_argument('--train-subset', default='train')
    p.add_argument('--test-subset', default='test')
    p.add_argument('--seed', type=int, default=1234567891)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE',
                   help='override the official config, e.g. '
                   'model.embd_dim=128 (VALUE parsed as YAML)')
    return p.parse_args(argv)


def check_nms_extension(repo: str) -> None:
    """Fail before training, in one line, if the checkout's compiled NMS
    extension cannot serve the official post-processing.

    The official code imports ``nms_1d_cpu`` and calls its ``nms`` /
    ``softnms`` only when it scores the test set, i.e. after the whole
    training (over an hour on CPU). A build installed as an egg by
    ``setup.py install`` can import as an empty module under current
    setuptools, which then fails there; building in place avoids it.
    """
    fix = (f'build it in place: cd {osp.join(repo, "libs", "utils")} && '
           'python setup.py build_ext --inplace')
    try:
        import nms_1d_cpu
    except ImportError as e:
        raise SystemExit(f'nms_1d_cpu: cannot import ({e}); {fix}')
    missing = [f for f in ('nms', 'softnms') if not hasattr(nms_1d_cpu, f)]
    if missing:
        where = getattr(nms_1d_cpu, '__file__', None) or 'nms_1d_cpu'
        raise SystemExit(f'{where}: the NMS extension has no '
                         f'{" / ".join(missing)}; {fix}')


def apply_overrides(cfg: dict, items) -> None:
    """``a.b.c=VALUE`` -> ``cfg['a']['b']['c'] = yaml(VALUE)``."""
    import yaml
    for item in items:
        key, value = item.split('=', 1)
        node = cfg
        *parents, leaf = key.split('.')
        for k in parents:
            node = node[k]
        node[leaf] = yaml.safe_load(value)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    torch.cuda.synchronize = lambda *a, **k: None  # CPU run
    sys.path.insert(0, args.repo)
    sys.path.insert(0, osp.join(args.repo, 'libs', 'utils'))
    check_nms_extension(args.repo)
    from libs.core import load_config
    from libs.datasets import make_data_loader, make_dataset
    from libs.modeling import make_meta_arch
    from libs.utils import (ModelEma, fix_random_seed, make_optimizer,
                            make_scheduler, train_one_epoch)

    cfg = load_config(osp.join(args.repo, args.config))
    cfg['devices'] = ['cpu']
    cfg['init_rand_seed'] = args.seed
    ds = cfg['dataset']
    ds['json_file'] = osp.join(args.data, 'annotations.json')
    ds['feat_folder'] = osp.join(args.data, 'features')
    ds['input_dim'] = args.input_dim
    ds['num_classes'] = args.num_classes
    cfg['model']['input_dim'] = args.input_dim
    cfg['model']['num_classes'] = args.num_classes
    cfg['opt']['epochs'] = args.epochs
    cfg['opt']['warmup_epochs'] = args.warmup_epochs
    cfg['loader']['num_workers'] = 1
    cfg['train_split'] = [args.train_subset]
    cfg['val_split'] = [args.test_subset]
    apply_overrides(cfg, args.set)
    # the builders read these from the model section (load_config copies
    # the dataset's values there before overrides)
    for key in ('max_seq_len', 'input_dim', 'num_classes'):
        cfg['model'][key] = cfg['dataset'][key]

    rng = fix_random_seed(cfg['init_rand_seed'], include_cuda=False)
    train_set = make_dataset(cfg['dataset_name'], True, cfg['train_split'],
                             **cfg['dataset'])
    cfg['model']['train_cfg']['head_empty_cls'] = \
        train_set.get_attributes()['empty_label_ids']
    loader = make_data_loader(train_set, True, rng, **cfg['loader'])
    model = make_meta_arch(cfg['model_name'], **cfg['model'])
    optimizer = make_optimizer(model, cfg['opt'])
    scheduler = make_scheduler(optimizer, cfg['opt'], len(loader))
    model_ema = ModelEma(model)
    max_epochs = cfg['opt']['epochs'] + cfg['opt']['warmup_epochs']
    t0 = time.time()
    for epoch in range(max_epochs):
        train_one_epoch(loader, model, optimizer, scheduler, epoch,
                        model_ema=model_ema,
                        clip_grad_l2norm=cfg['train_cfg']['clip_grad_l2norm'],
                        tb_writer=None, print_freq=10)
    train_time = time.time() - t0
    iters = max_epochs * len(loader)

    test_set = make_dataset(cfg['dataset_name'], False, cfg['val_split'],
                            **cfg['dataset'])
    test_loader = make_data_loader(test_set, False, None, 1,
                                   cfg['loader']['num_workers'])
    label_names = {v: k for k, v in test_set.label_dict.items()}
    os.makedirs(args.out, exist_ok=True)
    for name, net in (('raw', model), ('ema', model_ema.module)):
        net.eval()
        results = {}
        with torch.no_grad():
            for video_list in test_loader:
                for out in net(video_list):
                    results[out['video_id']] = [
                        dict(label=label_names[int(lab)],
                             segment=[float(s[0]), float(s[1])],
                             score=float(sc))
                        for s, sc, lab in zip(out['segments'], out['scores'],
                                              out['labels'])]
        path = osp.join(args.out, f'results_{name}.json')
        # Runs under the official code's interpreter, which need not have
        # mmtal_zoom installed: hence not mmtal_zoom.utils.atomic_write_json.
        with open(path + '.tmp', 'w') as f:
            json.dump(dict(results=results), f)
        os.replace(path + '.tmp', path)
    info = dict(iterations=iters, epochs=max_epochs, batch_size=cfg['loader']
                ['batch_size'], train_time_s=train_time,
                iters_per_epoch=len(loader))
    with open(osp.join(args.out, 'run.json'), 'w') as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == '__main__':
    main()
