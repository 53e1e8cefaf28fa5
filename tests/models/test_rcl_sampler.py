"""RCLSampler: RCL's scale-invariant sampling of segment queries (Sec. 3.3)."""
import pytest
import torch

from mmaction.registry import TASK_UTILS
from mmtal_zoom.models.task_modules.rcl_sampler import apply_min_length
from mmtal_zoom.structures import segment_iou


def build(**kwargs):
    return TASK_UTILS.build(dict(type='RCLSampler', **kwargs))


def test_grid_is_bmn_boundary_matching_grid():
    t = 20
    sampler = build(num_grid=t)
    grid = sampler.grid_queries()
    assert grid.shape == (t * (t + 1) // 2, 2)
    # every [i / T, (i + j) / T] with i + j <= T, exactly once
    idx = torch.round(grid * t).long()
    pairs = {(int(a), int(b)) for a, b in idx}
    expected = {(i, i + j) for i in range(t) for j in range(1, t + 1)
                if i + j <= t}
    assert pairs == expected
    assert torch.allclose(grid * t, idx.float(), atol=1e-5)


def test_sample_counts_and_kinds():
    t = 16
    sampler = build(num_grid=t, num_per_gt=10)
    gts = torch.tensor([[0.1, 0.3], [0.5, 0.9]])
    out = sampler.sample(gts, return_kinds=True)
    n_grid = t * (t + 1) // 2
    kinds = out['kinds']
    assert (kinds == 0).sum() == n_grid
    assert (kinds == 1).sum() == n_grid  # T(T+1)/2 random by default
    assert (kinds == 2).sum() == 2 * 10
    assert out['queries'].shape == (2 * n_grid + 20, 2)
    only_grid = build(num_grid=t, use_random=False, use_gt=False)
    assert only_grid.sample(gts).shape == (n_grid, 2)
    with pytest.raises(ValueError, match='at least one kind'):
        build(use_grid=False, use_random=False, use_gt=False)


def test_random_samples_stay_within_half_a_cell_of_the_grid():
    t = 25
    sampler = build(num_grid=t)
    torch.manual_seed(0)
    rand = sampler.random_samples(sampler.num_grid_samples, 'cpu')
    grid = sampler.grid_queries()
    dev = (rand - grid) * t
    assert dev.abs().max() <= 0.5 + 1e-6
    # really jittered, roughly uniform over the cell
    assert dev.std() > 0.2
    assert float(dev.abs().mean()) == pytest.approx(0.25, abs=0.03)


def test_scale_invariant_samples_spread_with_gt_length():
    sampler = build(num_grid=100, num_per_gt=4000, gt_std_ratio=0.25,
                    use_grid=False, use_random=False)
    torch.manual_seed(0)
    short = torch.tensor([[0.40, 0.42]])  # 2 % of the video
    long = torch.tensor([[0.20, 0.60]])  # 40 %
    s_short = sampler.sample(short)
    s_long = sampler.sample(long)
    spread_short = float((s_short - short).std())
    spread_long = float((s_long - long).std())
    # spread proportional to the length (ratio of lengths = 20)
    assert spread_long / spread_short == pytest.approx(20, rel=0.1)
    assert spread_short == pytest.approx(0.25 * 0.02, rel=0.1)
    # hence the same tIoU distribution around a short and a long action
    iou_short = segment_iou(s_short, short)[:, 0]
    iou_long = segment_iou(s_long, long)[:, 0]
    assert float(iou_short.median()) == pytest.approx(
        float(iou_long.median()), abs=0.03)
    assert float((iou_short > 0.7).float().mean()) == pytest.approx(
        float((iou_long > 0.7).float().mean()), abs=0.05)
    # far more high-tIoU samples for the short action than the grid has
    grid = build(num_grid=100).grid_queries()
    assert (segment_iou(grid, short)[:, 0] > 0.7).sum() <= 2
    assert (iou_short > 0.7).sum() > 1000


def test_spf_floor_and_clipping():
    sampler = build(num_grid=50, num_per_gt=500, min_length=0.0)
    torch.manual_seed(1)
    tiny = torch.tensor([[0.0, 0.001], [0.995, 1.0]])
    spf = 1.0 / 300  # one frame of a 300-frame feature span
    q = sampler.sample(tiny, min_length=spf)
    length = q[:, 1] - q[:, 0]
    assert length.min() >= spf - 1e-6
    assert q.min() >= 0 and q.max() <= 1
    assert (q[:, 1] >= q[:, 0]).all()
    # without the floor, the same tiny action yields shorter samples
    q0 = sampler.sample(tiny, min_length=0.0)
    assert (q0[:, 1] - q0[:, 0]).min() < spf
    # the default floor of the constructor applies when none is given
    q_def = build(num_grid=50, min_length=0.05).sample(tiny)
    assert (q_def[:, 1] - q_def[:, 0]).min() >= 0.05 - 1e-6


def test_apply_min_length_keeps_long_segments_and_orders():
    segs = torch.tensor([[0.3, 0.1], [0.5, 0.5001], [-0.2, 0.0005]])
    out = apply_min_length(segs, 0.01)
    assert torch.allclose(out[0], torch.tensor([0.1, 0.3]))
    assert float(out[1, 1] - out[1, 0]) == pytest.approx(0.01, abs=1e-6)
    assert float(out[1].mean()) == pytest.approx(0.50005, abs=1e-5)
    assert float(out[2, 0]) == 0
    assert float(out[2, 1]) == pytest.approx(0.01, abs=1e-6)
