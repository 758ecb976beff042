"""Fewer points for a chart of a given width, keeping its shape (min and max per pixel).

A line chart ``width`` pixels wide cannot show more than a low and a high per pixel
column, so a series is cut into ``width`` buckets along x and each bucket keeps its lowest
and highest point, in x order, plus the series' first and last points. Spikes survive, the
browser receives about two points per pixel, and short series are sent as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["downsample"]


def downsample(
    xs: Sequence[float], ys: Sequence[float | None], width: int
) -> tuple[list[float], list[float | None]]:
    """At most ``2 * width + 2`` points of the series ``(xs, ys)``, xs ascending.

    Missing values (None) are dropped when the series is thinned.
    """
    if width < 1:
        raise ValueError("width must be at least 1 pixel")
    if len(xs) <= 2 * width:
        return list(xs), list(ys)
    import numpy as np

    x = np.asarray(xs, dtype=float)
    y = np.asarray([np.nan if v is None else v for v in ys], dtype=float)
    present = np.flatnonzero(~np.isnan(y))
    span = (x[-1] - x[0]) or 1.0
    buckets = np.minimum(width - 1, ((x[present] - x[0]) / span * width).astype(np.int64))
    order = np.lexsort((y[present], buckets))  # by bucket, then by value within it
    ranked = buckets[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    lows, highs = present[order[starts]], present[order[ends]]
    kept = np.unique(np.r_[0, lows, highs, len(xs) - 1])
    return [xs[i] for i in kept], [ys[i] for i in kept]
