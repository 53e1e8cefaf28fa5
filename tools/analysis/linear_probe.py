"""How hard is a TAL feature dataset? A per-snippet linear probe.

1. A multinomial logistic regression (torch, full-batch L-BFGS, L2) is
   trained on the snippets of ``--train-subset``: each snippet is labelled
   with the class of the instance covering its centre (the shortest one if
   several), or background (class K).
2. On ``--eval-subset`` (default ``val``: judge datasets on val, never tune
   anything on test) it reports snippet accuracy, macro F1 over the K action
   classes and per-class F1.
3. A naive detector built from it: contiguous runs of the argmax class
   become segments (score = mean probability of that class over the run),
   evaluated with detection mAP at tIoU 0.3:0.7 (also per instance-length
   bucket). ``--smooth W`` adds the same detector on probabilities averaged
   over W snippets: a crude use of temporal context, to show how much a
   detector that looks beyond one snippet can gain.

Example::

    python tools/analysis/linear_probe.py data/embedded
    python tools/analysis/linear_probe.py ../shared/data/real_i3d_samples \\
        --train-subset Test --eval-subset Test     # a smoke run on real data
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import mmtal_zoom  # noqa: E402,F401
from mmtal_zoom.datasets import TALFeatureDataset  # noqa: E402
from mmtal_zoom.structures import grid_to_seconds  # noqa: E402
from mmtal_zoom.utils import atomic_write_json  # noqa: E402

TIOUS = (0.3, 0.4, 0.5, 0.6, 0.7)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('data',
                   help='dataset folder with annotations.json and '
                   'features/ (e.g. data/embedded)')
    p.add_argument('--ann-file',
                   help='annotation JSON (default: '
                   'DATA/annotations.json)')
    p.add_argument('--feature-dir',
                   help='feature folder (default: '
                   'DATA/features, or DATA if absent)')
    p.add_argument('--train-subset', default='train')
    p.add_argument('--eval-subset',
                   default='val',
                   help='subset to report on (default val)')
    p.add_argument('--feat-stride', type=int, default=4)
    p.add_argument('--num-frames', type=int, default=16)
    p.add_argument('--l2',
                   type=float,
                   default=1e-4,
                   help='L2 weight on the probe (default 1e-4)')
    p.add_argument('--iters',
                   type=int,
                   default=150,
                   help='L-BFGS iterations (default 150)')
    p.add_argument('--smooth',
                   type=int,
                   default=9,
                   help='window (snippets) of the smoothed detector; 0 '
                   'disables it (default 9)')
    p.add_argument('--tious', type=float, nargs='+', default=list(TIOUS))
    p.add_argument('--out', help='write the figures as JSON here')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def load_split(ann_file, feat_dir, subset, feat_stride, num_frames):
    """Per video: features (T, C), snippet labels (T,), metadata."""
    ds = TALFeatureDataset(ann_file=ann_file,
                           data_prefix=dict(feature=feat_dir),
                           subset=subset,
                           feat_stride=feat_stride,
                           num_frames=num_frames,
                           test_mode=True,
                           serialize_data=False,
                           pipeline=[dict(type='LoadTALFeatures')])
    classes = ds.metainfo['classes']
    K = len(classes)
    videos = []
    for i in range(len(ds)):
        r = ds[i]
        x = r['inputs'].T  # (T, C)
        T = x.shape[0]
        y = np.full(T, K, dtype=np.int64)
        segs, labs = r['grid_segments'], r['grid_labels']
        order = np.argsort(-(segs[:, 1] - segs[:, 0]))  # shortest written last
        pos = np.arange(T)
        for j in order:
            y[(pos >= segs[j, 0]) & (pos <= segs[j, 1])] = labs[j]
        videos.append(dict(name=r['video_name'], x=x, y=y, meta=r))
    return classes, videos


def train_probe(X, Y, num_out, l2, iters, seed):
    torch.manual_seed(seed)
    X = torch.from_numpy(X)
    Y = torch.from_numpy(Y)
    lin = torch.nn.Linear(X.shape[1], num_out)
    opt = torch.optim.LBFGS(lin.parameters(),
                            lr=1,
                            max_iter=iters,
                            history_size=20,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(X), Y) + \
            l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lin


def runs_to_detections(prob, duration, fps, feat_stride, num_frames):
    """Contiguous runs of the argmax action class -> segments (s) / scores."""
    K = prob.shape[1] - 1
    am = prob.argmax(1)
    segs, scores, labels = [], [], []
    T = len(am)
    i = 0
    while i < T:
        j = i
        while j + 1 < T and am[j + 1] == am[i]:
            j += 1
        c = am[i]
        if c != K:
            g = np.array([i - 0.5, j + 0.5])
            segs.append(
                grid_to_seconds(g, fps, feat_stride, num_frames, duration))
            scores.append(float(prob[i:j + 1, c].mean()))
            labels.append(int(c))
        i = j + 1
    return dict(segments=np.asarray(segs, dtype=np.float64).reshape(-1, 2),
                scores=np.asarray(scores, dtype=np.float64),
                labels=np.asarray(labels, dtype=np.int64))


def evaluate(gt, preds, num_classes, tious):
    """mAP per tIoU; the package's vectorised evaluator if present, else
    MMAction2's reference per class."""
    try:
        from mmtal_zoom.evaluation.functional import evaluate_detection
    except ImportError:
        evaluate_detection = None
    if evaluate_detection is not None:
        r = evaluate_detection(gt, preds, num_classes, tious)
        return dict(mAP=[float(v) for v in r['mAP']],
                    average_mAP=float(r['average_mAP']),
                    buckets={
                        n: [float(v) for v in m]
                        for n, m in zip(r['bucket_names'], r['bucket_mAP'])
                    })
    from mmaction.evaluation.functional import \
        average_precision_at_temporal_iou
    aps = []
    for c in range(num_classes):
        g = {v: d['segments'][d['labels'] == c] for v, d in gt.items()}
        if sum(len(s) for s in g.values()) == 0:
            continue
        p = [[v, c, s[0], s[1], sc] for v, d in preds.items()
             for s, sc, lab in zip(d['segments'], d['scores'], d['labels'])
             if lab == c]
        aps.append(average_precision_at_temporal_iou(g, p, np.array(tious)))
    m = np.mean(aps, axis=0)
    return dict(mAP=[float(v) for v in m],
                average_mAP=float(m.mean()),
                buckets={})


def box_smooth(prob, w):
    if w <= 1:
        return prob
    k = np.ones(w) / w
    pad = np.pad(prob, ((w // 2, w - 1 - w // 2), (0, 0)), mode='edge')
    return np.stack([
        np.convolve(pad[:, c], k, mode='valid') for c in range(prob.shape[1])
    ], 1)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    ann = args.ann_file or osp.join(args.data, 'annotations.json')
    feat_dir = args.feature_dir or (osp.join(
        args.data, 'features') if osp.isdir(osp.join(args.data, 'features'))
                                    else args.data)
    classes, train = load_split(ann, feat_dir, args.train_subset,
                                args.feat_stride, args.num_frames)
    _, test = load_split(ann, feat_dir, args.eval_subset, args.feat_stride,
                         args.num_frames)
    K = len(classes)
    Xtr = np.concatenate([v['x'] for v in train]).astype(np.float32)
    Ytr = np.concatenate([v['y'] for v in train])
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    lin = train_probe((Xtr - mu) / sd, Ytr, K + 1, args.l2, args.iters,
                      args.seed)

    gt, preds, preds_s = {}, {}, {}
    ys, yhat = [], []
    with torch.no_grad():
        for v in test:
            logits = lin(
                torch.from_numpy(((v['x'] - mu) / sd).astype(np.float32)))
            prob = torch.softmax(logits, 1).numpy()
            ys.append(v['y'])
            yhat.append(prob.argmax(1))
            m = v['meta']
            geo = (m['duration'], m['fps'], m['feat_stride'], m['num_frames'])
            preds[v['name']] = runs_to_detections(prob, *geo)
            if args.smooth > 1:
                preds_s[v['name']] = runs_to_detections(
                    box_smooth(prob, args.smooth), *geo)
            gt[v['name']] = dict(segments=np.asarray(m['gt_segments'],
                                                     np.float64),
                                 labels=np.asarray(m['gt_labels'], np.int64))
    ys, yhat = np.concatenate(ys), np.concatenate(yhat)
    f1 = []
    for c in range(K + 1):
        tp = np.sum((yhat == c) & (ys == c))
        prec = tp / max(np.sum(yhat == c), 1)
        rec = tp / max(np.sum(ys == c), 1)
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    res = dict(
        command='python ' +
        ' '.join([osp.relpath(__file__)] +
                 (argv if argv is not None else sys.argv[1:])),
        train_subset=args.train_subset,
        eval_subset=args.eval_subset,
        num_train_snippets=int(len(Ytr)),
        num_eval_snippets=int(len(ys)),
        background_fraction=float(np.mean(ys == K)),
        snippet_accuracy=float(np.mean(ys == yhat)),
        action_snippet_accuracy=float(np.mean(
            (ys == yhat)[ys != K])) if np.any(ys != K) else float('nan'),
        macro_f1_actions=float(np.mean(f1[:K])),
        background_f1=float(f1[K]),
        per_class_f1={classes[c]: float(f1[c])
                      for c in range(K)},
        tious=list(args.tious),
        naive_detector=evaluate(gt, preds, K, args.tious))
    if args.smooth > 1:
        res[f'smoothed_detector_w{args.smooth}'] = evaluate(
            gt, preds_s, K, args.tious)
    res['seconds'] = round(time.time() - t0, 1)

    print(f'Linear probe: train on "{args.train_subset}" '
          f'({res["num_train_snippets"]} snippets), report on '
          f'"{args.eval_subset}" ({res["num_eval_snippets"]} snippets, '
          f'{100 * res["background_fraction"]:.1f}% background)')
    print(f'  snippet accuracy        {res["snippet_accuracy"]:.3f}')
    print(f'  action-snippet accuracy {res["action_snippet_accuracy"]:.3f}')
    print(f'  macro F1 (actions)      {res["macro_f1_actions"]:.3f}   '
          f'background F1 {res["background_f1"]:.3f}')
    print('  per-class F1: ' +
          ', '.join(f'{k} {v:.2f}' for k, v in res['per_class_f1'].items()))
    head = '  detector              ' + ''.join(f'mAP@{t:<5g}'
                                                for t in args.tious) + 'avg'
    print(head)
    for key in [k for k in res if k.endswith('detector') or '_w' in k]:
        d = res[key]
        print(f'  {key:<22}' + ''.join(f'{v:<9.3f}' for v in d['mAP']) +
              f'{d["average_mAP"]:.3f}')
        if d['buckets']:
            print('    avg mAP by length: ' +
                  ', '.join(f'{n} {np.mean(m):.3f}'
                            for n, m in d['buckets'].items()))
    print(f'  ({res["seconds"]} s)  command: {res["command"]}')
    if args.out:
        atomic_write_json(res, args.out, indent=1)
    return res


if __name__ == '__main__':
    main()
