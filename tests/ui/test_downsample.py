"""Series thinned to about two points per pixel, keeping extremes and ends."""

from __future__ import annotations

import math
import random

import pytest

from ferry.ui.downsample import downsample


def test_short_series_are_sent_as_they_are() -> None:
    xs, ys = [0.0, 1.0, 2.0], [3.0, None, 1.0]
    assert downsample(xs, ys, width=2) == (xs, ys)


def test_long_series_keep_two_points_per_pixel_with_every_extreme() -> None:
    rng = random.Random(1)
    xs = [float(i) for i in range(100_000)]
    ys: list[float | None] = [math.sin(i / 500) + rng.uniform(-0.1, 0.1) for i in range(100_000)]
    ys[31_337] = 50.0  # a spike between two samples must survive
    ys[77_777] = -50.0
    thin_x, thin_y = downsample(xs, ys, width=400)
    assert len(thin_x) <= 2 * 400 + 2
    assert thin_x == sorted(thin_x) and thin_x[0] == 0 and thin_x[-1] == 99_999
    assert 50.0 in thin_y and -50.0 in thin_y
    for left in range(0, 100_000, 250):  # each pixel column keeps its own min and max
        column = [y for y in ys[left : left + 250] if y is not None]
        kept = [y for x, y in zip(thin_x, thin_y, strict=True) if left <= x < left + 250]
        assert min(column) in kept and max(column) in kept


def test_missing_values_are_dropped_when_thinning() -> None:
    xs = [float(i) for i in range(1000)]
    ys: list[float | None] = [None if i % 2 else float(i) for i in range(1000)]
    thin_x, thin_y = downsample(xs, ys, width=10)
    assert None not in thin_y[1:-1]  # the first and last points are kept as they are
    assert len(thin_x) <= 22


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="width"):
        downsample([1.0], [1.0], width=0)
