"""Window placement and time resizing for long videos."""
import pytest
import torch

from mmtal_zoom.utils.long_video import (resize_time, resized_grid_scale,
                                         sliding_window_starts)


def test_window_starts_cover_and_overlap():
    assert sliding_window_starts(50, 64, 16) == [0]
    assert sliding_window_starts(64, 64, 16) == [0]
    starts = sliding_window_starts(200, 64, 16)
    assert starts == [0, 48, 96, 136]  # last one ends at the video's end
    assert sliding_window_starts(176, 64, 16) == [0, 48, 96, 112]
    assert sliding_window_starts(128, 64, 0) == [0, 64]
    for bad in [(0, 0), (8, 8), (8, -1)]:
        with pytest.raises(ValueError, match='overlap'):
            sliding_window_starts(100, *bad)


def test_resize_time_keeps_ends_and_maps_grid():
    x = torch.arange(11.).view(1, 1, 11) * 2  # value = 2 * grid position
    y = resize_time(x, 21)
    scale = resized_grid_scale(11, 21)
    assert scale == pytest.approx(0.5)
    # position g of the resized sequence is g * scale of the original
    torch.testing.assert_close(y[0, 0], 2 * torch.arange(21.) * scale)
    assert resize_time(x, 11) is x
    assert resize_time(x[..., :1], 4).shape == (1, 1, 4)
