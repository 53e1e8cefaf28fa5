"""Boundary-localisation variance: classification vs Boundary Distance
Regression (BDR).

Reproduces the setting of Temporal Zoom Networks' Theorem 1/2 (Shihab et al.)
with trained models instead of the closed forms. Per sequence of ``L`` steps
a boundary ``b*`` is drawn uniformly (sub-snippet) around the centre; the
features are

    h(t) = phi(t) v + n(t),  phi(t) = exp(-(t - b*)^2 / (2 kappa^2)),

``v`` a fixed unit vector in ``R^D``, ``n`` Gaussian noise of std ``sigma``
per dimension, i.i.d. over time (``rho = 0``) or AR(1) along time
(``n_t = rho n_{t-1} + sqrt(1 - rho^2) e_t``; the seed's Fig. 5 uses
``rho = 0.4`` as the value of real video features).

Three detectors are trained on the same features; they differ in
receptive field, output, loss and decoding:

* **cls_point** — Theorem 1's detector: a per-step linear classifier
  ``p(t) = sigmoid(w^T h(t) + c)`` (receptive field 1);
* **cls** — the same classification task with the BDR regressor's
  architecture and receptive field (temporal conv of width ``2r + 1`` ->
  ReLU -> 1x1 -> ReLU -> 1x1), so that only the formulation differs;

  both are trained with BCE against the soft two-hot label
  ``max(0, 1 - |t - b*|)`` (which already carries sub-snippet information)
  and localise by the arg-max of the probability refined by a 3-point
  parabolic fit (sub-snippet as well — no quantisation handicap);
* **bdr** — per-step regression of ``d(t) = clamp(t - b*, -R, R)`` with
  mmtal_zoom's ``SignedDistanceLoss`` (a per-step regressor cannot tell on
  which side of a symmetric kernel it is, so BDR needs the temporal
  context), localisation = the package's ``zero_crossings`` (ascending,
  linearly interpolated); with several crossings the steepest one, with none
  the window centre (counted as a failure). ``bdr_votes`` decodes the same
  model differently: the median of the per-step votes ``t - d_hat(t)`` of the
  steps within ``--votes`` of that crossing.

Both localisers search the same window ``centre +- search`` (``b*`` is drawn
in ``centre +- 4``): the theorems describe the behaviour near the boundary,
and far from it the features are pure noise for every detector.

It reports, for every ``kappa`` and ``rho``, the empirical variance of the
localisation error ``b_hat - b*`` over held-out sequences (and the BDR
failure rate) and the ratios ``var_cls_point / var_bdr`` (the theorems'
comparison) and ``var_cls / var_bdr`` (architecture matched); it prints a
table and writes JSON (and optionally a PNG). Example::

    python tools/analysis/bdr_variance.py --out work_dirs/bdr_variance.json \\
        --plot work_dirs/bdr_variance.png

Runs in about ten minutes on one idle CPU core with the defaults.
"""
import math
import os
import sys
import time
from typing import Dict, List

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))

from mmtal_zoom.models.losses.signed_distance_loss import \
    signed_distance_loss  # noqa: E402
from mmtal_zoom.models.task_modules.zero_crossing import \
    zero_crossings  # noqa: E402
from mmtal_zoom.utils import io as mmtal_io  # noqa: E402
from mmtal_zoom.utils.cli import doc_parser, write_json_output  # noqa: E402

DEFAULT_KAPPAS = (0.8, 1.5, 2.5, 3.5, 5.0, 6.2)

# the setting, the detectors and their training: (option, type, default, help)
SETTINGS = (
    ('--sigma', float, 0.5, 'noise std per feature dimension'),
    ('--dim', int, 16, 'feature dimension D'),
    ('--length', int, 64, 'steps per sequence L'),
    ('--radius', int, 12, 'receptive-field radius r of both detectors'),
    ('--hidden', int, 32, 'hidden channels'),
    ('--search', float, 6.0,
     'both localisers search [centre - s, centre + s] (b* is drawn in '
     'centre +- 4): the theorems are local'),
    ('--votes', float, 3.0, 'bdr_votes: radius of the voting steps'),
    ('--truncation', float, 16.0, 'BDR truncation R'),
    ('--steps', int, 600, 'training steps per model'),
    ('--batch', int, 128, 'sequences per training step'),
    ('--test', int, 2000, 'held-out sequences per setting'),
    ('--seed', int, 0, None),
    ('--threads', int, 1, None),
)


def parse_args(argv=None):
    p = doc_parser(
        __doc__,
        'Variance of boundary localisation by a classification '
        'detector vs Boundary Distance Regression in the seed\'s Theorem 1/2 '
        'setting (Gaussian similarity kernel + noise), trained models.')
    p.add_argument('--kappas', type=float, nargs='+',
                   default=list(DEFAULT_KAPPAS),
                   help='kernel widths kappa (snippets)')
    p.add_argument('--rhos', type=float, nargs='+', default=[0.0, 0.4],
                   help='AR(1) temporal correlation of the noise')
    for flag, type_, default, help_ in SETTINGS:
        p.add_argument(flag, type=type_, default=default, help=help_)
    p.add_argument('--out', default=None, help='JSON output')
    p.add_argument('--plot', default=None, help='PNG of variance vs kappa')
    return p.parse_args(argv)


def simulate(n: int, kappa: float, rho: float, args,
             gen: torch.Generator, v: torch.Tensor):
    """``n`` sequences: features ``(n, D, L)`` and boundaries ``(n,)``."""
    length = args.length
    centre = length / 2.0
    b = centre - 4.0 + 8.0 * torch.rand(n, generator=gen)
    t = torch.arange(length, dtype=torch.float32)
    phi = torch.exp(-(t[None] - b[:, None])**2 / (2 * kappa**2))
    eps = torch.randn(n, args.dim, length, generator=gen)
    if rho > 0:
        noise = torch.empty_like(eps)
        noise[..., 0] = eps[..., 0]
        scale = math.sqrt(1 - rho**2)
        for i in range(1, length):
            noise[..., i] = rho * noise[..., i - 1] + scale * eps[..., i]
    else:
        noise = eps
    feats = phi[:, None, :] * v[None, :, None] + args.sigma * noise
    return feats, b


def detector(args, pointwise: bool = False) -> nn.Module:
    if pointwise:
        return nn.Conv1d(args.dim, 1, 1)
    k = 2 * args.radius + 1
    return nn.Sequential(
        nn.Conv1d(args.dim, args.hidden, k, padding=args.radius), nn.ReLU(),
        nn.Conv1d(args.hidden, args.hidden, 1), nn.ReLU(),
        nn.Conv1d(args.hidden, 1, 1))


def cls_targets(b: torch.Tensor, length: int) -> torch.Tensor:
    t = torch.arange(length, dtype=torch.float32)
    return (1 - (t[None] - b[:, None]).abs()).clamp(min=0)


def bdr_targets(b: torch.Tensor, length: int, trunc: float) -> torch.Tensor:
    t = torch.arange(length, dtype=torch.float32)
    return (t[None] - b[:, None]).clamp(-trunc, trunc)


def train(kind: str, kappa: float, rho: float, args, v, seed: int):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = detector(args, pointwise=(kind == 'cls_point'))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    bce = nn.BCEWithLogitsLoss()
    for _ in range(args.steps):
        x, b = simulate(args.batch, kappa, rho, args, gen, v)
        out = model(x)[:, 0]
        if kind in ('cls', 'cls_point'):
            loss = bce(out, cls_targets(b, args.length))
        else:
            pred = (out * args.truncation).clamp(-args.truncation,
                                                 args.truncation)
            loss = signed_distance_loss(
                pred, bdr_targets(b, args.length, args.truncation)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def search_mask(length: int, centre: float, radius: float) -> torch.Tensor:
    t = torch.arange(length, dtype=torch.float32)
    return (t - centre).abs() <= radius


def localise_cls(logits: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Arg-max inside the search window + 3-point parabolic refinement,
    ``(n, L)`` -> ``(n,)``."""
    p = torch.sigmoid(logits)
    n, length = p.shape
    p = torch.where(window[None], p, torch.full_like(p, -1.0))
    i = p.argmax(dim=1).clamp(1, length - 2)
    rows = torch.arange(n)
    p = torch.sigmoid(logits)  # neighbours at the window edge included
    y0, y1, y2 = p[rows, i - 1], p[rows, i], p[rows, i + 1]
    denom = y0 - 2 * y1 + y2
    delta = torch.where(denom.abs() > 1e-8, 0.5 * (y0 - y2) / denom,
                        torch.zeros_like(denom))
    return i.float() + delta.clamp(-0.5, 0.5)


def localise_bdr(dist: torch.Tensor, window: torch.Tensor, centre: float):
    """Steepest ascending zero crossing inside the search window; the
    centre when there is none."""
    mask = torch.ones_like(dist, dtype=torch.bool)
    cross = zero_crossings(dist, mask)
    inside = (cross - centre).abs() <= (window.sum() - 1) / 2.0
    cross = torch.where(inside, cross, torch.full_like(cross, float('nan')))
    rise = torch.zeros_like(dist)
    rise[:, :-1] = dist[:, 1:] - dist[:, :-1]
    rise = torch.where(torch.isnan(cross), torch.full_like(rise, -1), rise)
    best = rise.argmax(dim=1)
    found = ~torch.isnan(cross).all(dim=1)
    b_hat = cross.gather(1, best[:, None])[:, 0]
    return torch.where(found, b_hat, torch.full_like(b_hat, centre)), found


def localise_bdr_votes(dist: torch.Tensor, b_cross: torch.Tensor,
                       radius: float) -> torch.Tensor:
    """Median of the votes ``t - d(t)`` of the steps within ``radius`` of
    the chosen crossing (falls back to the crossing)."""
    t = torch.arange(dist.shape[1], dtype=dist.dtype)
    votes = t[None] - dist
    near = (t[None] - b_cross[:, None]).abs() <= radius
    votes = torch.where(near, votes, torch.full_like(votes, float('nan')))
    med = votes.nanmedian(dim=1).values
    return torch.where(torch.isnan(med), b_cross, med)


def evaluate(kappa: float, rho: float, args, v, seed: int) -> Dict:
    t0 = time.time()
    models = {k: train(k, kappa, rho, args, v, seed)
              for k in ('cls_point', 'cls', 'bdr')}
    gen = torch.Generator().manual_seed(10_000 + seed)
    x, b = simulate(args.test, kappa, rho, args, gen, v)
    centre = args.length / 2.0
    window = search_mask(args.length, centre, args.search)
    est = {}
    with torch.no_grad():
        for k in ('cls_point', 'cls'):
            est[k] = localise_cls(models[k](x)[:, 0], window)
        dist = models['bdr'](x)[:, 0] * args.truncation
        est['bdr'], found = localise_bdr(dist, window, centre)
        est['bdr_votes'] = localise_bdr_votes(dist, est['bdr'], args.votes)
    row = dict(kappa=kappa, rho=rho)
    for k, b_hat in est.items():
        err = (b_hat - b).numpy()
        row[f'var_{k}'] = float(np.var(err))
        row[f'bias_{k}'] = float(np.mean(err))
        row[f'mse_{k}'] = float(np.mean(err**2))
    row['bdr_failures'] = float(1 - found.float().mean())
    for k in ('cls_point', 'cls'):
        row[f'ratio_{k}'] = row[f'var_{k}'] / max(row['var_bdr'], 1e-12)
        row[f'ratio_{k}_votes'] = row[f'var_{k}'] / max(
            row['var_bdr_votes'], 1e-12)
    row['seconds'] = time.time() - t0
    return row


def format_table(rows: List[Dict]) -> str:
    head = (f"{'rho':>4} {'kappa':>5} | {'cls_point':>9} {'cls':>7} "
            f"{'bdr':>7} {'bdr_vote':>8} | {'pt/bdr':>7} {'cls/bdr':>7} "
            f"{'pt/vote':>7} {'cls/vote':>8} | {'fail':>5}")
    lines = ['variance of the localisation error (snippets^2) and ratios',
             head, '-' * len(head)]
    for r in rows:
        lines.append(
            f"{r['rho']:>4.1f} {r['kappa']:>5.1f} | "
            f"{r['var_cls_point']:>9.3f} {r['var_cls']:>7.3f} "
            f"{r['var_bdr']:>7.3f} {r['var_bdr_votes']:>8.3f} | "
            f"{r['ratio_cls_point']:>6.2f}x {r['ratio_cls']:>6.2f}x "
            f"{r['ratio_cls_point_votes']:>6.2f}x "
            f"{r['ratio_cls_votes']:>7.2f}x | "
            f"{100 * r['bdr_failures']:>4.1f}%")
    return '\n'.join(lines)


def plot(rows: List[Dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for rho in sorted({r['rho'] for r in rows}):
        sub = [r for r in rows if r['rho'] == rho]
        k = [r['kappa'] for r in sub]
        for key, style in (('cls_point', 'o-'), ('cls', '^-'), ('bdr', 's--'),
                           ('bdr_votes', 'd:')):
            ax[0].plot(k, [r[f'var_{key}'] for r in sub], style,
                       label=f'{key}, rho={rho}')
        ax[1].plot(k, [r['ratio_cls_point'] for r in sub], 'o-',
                   label=f'cls_point / bdr, rho={rho}')
        ax[1].plot(k, [r['ratio_cls'] for r in sub], '^-',
                   label=f'cls / bdr, rho={rho}')
    ax[0].set_yscale('log')
    ax[0].set_xlabel('kappa (snippets)')
    ax[0].set_ylabel('variance of b_hat - b* (snippets^2)')
    ax[0].legend(fontsize=7)
    ax[1].axhspan(3.3, 16.7, color='0.9', label="seed's claim 3.3-16.7x")
    ax[1].set_xlabel('kappa (snippets)')
    ax[1].set_ylabel('variance ratio')
    ax[1].set_yscale('log')
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    mmtal_io.atomic_save_figure(fig, path, dpi=120)


def main(argv=None) -> List[Dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    v = torch.randn(args.dim, generator=gen)
    v = v / v.norm()
    rows = []
    settings = [(rho, k) for rho in args.rhos for k in args.kappas]
    for i, (rho, kappa) in enumerate(settings):
        row = evaluate(kappa, rho, args, v, args.seed + i)
        rows.append(row)
        print(f'[{i + 1}/{len(settings)}] rho={rho} kappa={kappa}: '
              f"cls_point/bdr {row['ratio_cls_point']:.2f}x, cls/bdr "
              f"{row['ratio_cls']:.2f}x ({row['seconds']:.1f}s)",
              file=sys.stderr, flush=True)
    print(f'sigma={args.sigma} D={args.dim} L={args.length} '
          f'r={args.radius} steps={args.steps} test={args.test}')
    print(format_table(rows))
    for key in ('ratio_cls_point', 'ratio_cls', 'ratio_cls_point_votes',
                'ratio_cls_votes'):
        vals = [r[key] for r in rows]
        print(f'{key}: {min(vals):.2f}x - {max(vals):.2f}x '
              "(seed's claim: 3.3x - 16.7x)")
    write_json_output(dict(args=vars(args), rows=rows), args.out)
    if args.plot:
        plot(rows, args.plot)
        print(f'wrote {args.plot}')
    return rows


if __name__ == '__main__':
    main()
