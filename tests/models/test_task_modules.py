"""Point generator, centre-sampling assigner and segment coder."""
import pytest
import torch

from mmaction.registry import TASK_UTILS


def build_points(lengths=(8, 4), strides=(1, 2),
                 ranges=((0, 4), (4, 10000))):
    gen = TASK_UTILS.build(dict(type='PointGenerator1D', strides=strides,
                                regression_ranges=ranges))
    return gen, gen.grid_points(lengths, torch.device('cpu'))


def test_point_generator_positions_and_ranges():
    _, pts = build_points()
    assert [p.shape for p in pts] == [(8, 4), (4, 4)]
    assert pts[1][:, 0].tolist() == [0, 2, 4, 6]
    assert pts[1][0, 1:].tolist() == [4, 10000, 2]


def test_point_generator_level_mismatch_is_clear():
    gen, _ = build_points()
    with pytest.raises(ValueError, match='2 levels'):
        gen.grid_points([8], torch.device('cpu'))


def test_coder_round_trip():
    coder = TASK_UTILS.build(dict(type='SegmentDistanceCoder'))
    _, pts = build_points()
    pts = torch.cat(pts)
    segs = torch.stack([pts[:, 0] - 1.5, pts[:, 0] + 3.0], dim=1)
    offsets = coder.encode(pts, segs)
    assert torch.allclose(coder.decode(pts, offsets), segs)
    assert torch.allclose(offsets[:, 0] * pts[:, 3], torch.full((12, ), 1.5))


def test_assigner_centre_sampling_ranges_and_ties():
    _, pts = build_points()
    pts = torch.cat(pts)
    assigner = TASK_UTILS.build(dict(type='CenterSamplingAssigner',
                                     center_sample_radius=1.5))
    gts = torch.tensor([[1.0, 3.0], [2.0, 7.5]])
    cls_t, reg_t, pos = assigner.assign(pts, gts, torch.tensor([0, 1]), 3)
    # level 0 (stride 1, range 0-4): point 2 is in both segments but only the
    # short one is in range; points 4-6 regress the long one (max dist <= 4)
    assert pos[:8].nonzero().flatten().tolist() == [2, 4, 5, 6]
    assert cls_t[2].tolist() == [1, 0, 0]
    assert cls_t[5].tolist() == [0, 1, 0]
    assert reg_t[2].tolist() == [1.0, 1.0]
    # level 1 (stride 2, range >= 4): position 4 has max distance 3.5 (out
    # of range); position 6 has (4, 1.5) -> regresses [2, 7.5] in strides
    assert pos[8:].nonzero().flatten().tolist() == [3]
    assert torch.allclose(reg_t[11], torch.tensor([2.0, 0.75]))
    # no positive outside every segment
    assert not pos[0] and not pos[7]


def test_assigner_without_ground_truth():
    _, pts = build_points()
    pts = torch.cat(pts)
    assigner = TASK_UTILS.build(dict(type='CenterSamplingAssigner'))
    cls_t, reg_t, pos = assigner.assign(pts, torch.zeros(0, 2),
                                        torch.zeros(0, dtype=torch.long), 3)
    assert cls_t.shape == (12, 3) and cls_t.sum() == 0 and not pos.any()


def test_assigner_rejects_unknown_mode():
    with pytest.raises(ValueError, match='center_sample'):
        TASK_UTILS.build(dict(type='CenterSamplingAssigner',
                              center_sample='box'))
