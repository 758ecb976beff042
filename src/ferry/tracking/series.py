"""Metric series in chunks: a series logged step by step is also written in chunks, so
that reading it costs a few GETs instead of one per step.

Every step is first its own create-only object (``history/<id>/<metric>/<step>.json``):
a step is durable when ``log_metric`` returns, and a step logged twice is refused. Each
client also keeps the steps it logged and, every :data:`CHUNK_STEPS` of one series (and
for the rest when it closes), writes them again as one chunk
(``chunk-<first step>-<last step>-<random>.json``, a JSON list). A reader lists the
series, reads its chunks, and reads only the steps no chunk holds: a series of 1,000
steps logged by one client costs 10 GETs instead of 1,000. Nothing is ever deleted: the
step objects stay, so readers that do not know chunks (and chunks that failed to be
written) still see every step. Steps logged by several clients at once are merged by step.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["CHUNK_PREFIX", "CHUNK_STEPS", "Chunks", "chunk_name", "is_chunk", "merge", "step_of"]

CHUNK_STEPS = 100
CHUNK_PREFIX = "chunk-"


def chunk_name(points: list[dict[str, Any]]) -> str:
    """The file name of a chunk holding ``points`` (unique: two clients never collide)."""
    steps = [p["step"] for p in points]
    return f"{CHUNK_PREFIX}{min(steps):020d}-{max(steps):020d}-{secrets.token_hex(4)}.json"


def is_chunk(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith(CHUNK_PREFIX)


def step_of(key: str) -> int | None:
    """The step a single-step key holds (``.../00000000000000000042.json``), else None."""
    name = key.rsplit("/", 1)[-1]
    stem = name[: -len(".json")] if name.endswith(".json") else ""
    return int(stem) if stem.isdigit() else None


class Chunks:
    """The steps this client logged and has not yet written as a chunk, per series."""

    def __init__(self, size: int = CHUNK_STEPS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, series: str, point: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Keep ``point``; the points to write as a chunk of ``series`` when it is full."""
        with self._lock:
            pending = self._pending.setdefault(series, [])
            pending.append(point)
            if len(pending) < self._size:
                return None
            del self._pending[series]
            return pending

    def drain(self) -> dict[str, list[dict[str, Any]]]:
        """Every series' kept points (to write as their last chunks), forgetting them."""
        with self._lock:
            pending, self._pending = self._pending, {}
            return pending


def merge(
    chunks: Iterable[list[dict[str, Any]]], steps: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The points of the chunks and single steps, one per step, by step."""
    points: dict[Any, dict[str, Any]] = {}
    for chunk in chunks:
        for point in chunk:
            points.setdefault(point["step"], point)
    for point in steps:
        points.setdefault(point["step"], point)
    return [points[step] for step in sorted(points)]
