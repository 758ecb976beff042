"""Metric series on their way to a chart: kept in memory within a point budget, and
shaped for the browser (thinned to the chart's width, with min, max and last)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ferry.ui.downsample import downsample

__all__ = ["Points", "SeriesCache", "number", "seconds", "series_entry"]

Points = tuple[list[float], list[float], list[float | None]]  # steps, times, values


class SeriesCache:
    """Recently read series, least recently used dropped first, within a point budget."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._items: OrderedDict[Any, Points] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Points | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def drop(self, which: Callable[[Any], bool]) -> None:
        """Forget the series whose key ``which`` accepts."""
        with self._lock:
            for key in [k for k in self._items if which(k)]:
                self._used -= len(self._items.pop(key)[2])

    def put(self, key: Any, points: Points) -> None:
        with self._lock:
            replaced = self._items.pop(key, None)
            self._used += len(points[2]) - (len(replaced[2]) if replaced else 0)
            self._items[key] = points
            while self._used > self._budget and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._used -= len(dropped[2])


def series_entry(
    run_id: str, name: str | None, points: Points, x: str, width: int
) -> dict[str, Any]:
    """A run's series for the browser: thinned for ``width`` pixels along ``x`` ("step",
    "time" or "relative"), with min, max and last of all its points."""
    steps, times, values = points
    present = [v for v in values if v is not None]
    entry: dict[str, Any] = {
        "id": run_id,
        "name": name,
        "count": len(steps),
        "min": min(present, default=None),
        "max": max(present, default=None),
        "last": values[-1] if values else None,
    }
    if not steps:
        return {**entry, "x": [], "y": []}
    xs = steps if x == "step" else times if x == "time" else [t - times[0] for t in times]
    entry["x"], entry["y"] = downsample(xs, values, width)
    return entry


def number(value: Any) -> float | None:
    """A finite float, or None (charts and JSON have no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def seconds(moment: Any) -> float:
    return float(moment.timestamp()) if hasattr(moment, "timestamp") else math.nan
