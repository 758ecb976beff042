"""Metric series in chunks: a series logged step by step is also written in chunks, so
that reading it costs a few GETs, and a closed series no listing of its steps.

Every step is first its own create-only object (``history/<id>/<metric>/<step>.json``):
a step is durable when ``log_metric`` returns, and a step logged twice is refused. Each
client also keeps the steps it logged and, every :data:`CHUNK_STEPS` of one series (and
for the rest when it closes), writes them again as one chunk, a JSON list, in the
series' ``chunks/`` folder. Nothing is ever deleted: the step objects stay, so readers
that do not know chunks (and chunks that failed to be written) still see every step.

Reading without listing the steps. Before its first step of a series, a client announces
itself there (``chunks/chunk-writer-<writer>.json``, an empty list) under a fresh writer
id, numbers its chunks (``chunk-<first>-<last>-<writer>-<seq>.json``) and marks the one
it writes at close (``...-<seq>-end.json``). A reader lists ``chunks/`` alone (a few
keys); when every writer announced there has its chunks 0 to n with the end at n, those
chunks hold every step and the steps are not listed. Anything else (a client still
logging or killed, a chunk that failed, a series older than chunks) makes the reader
list the series and read the steps no chunk holds: never a step missed, only a cheaper
read when the series is whole. A client that logs to a series again after closing
announces itself again, under a new id.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHUNKS",
    "CHUNK_PREFIX",
    "CHUNK_STEPS",
    "Chunk",
    "Chunks",
    "is_announcement",
    "is_chunk",
    "merge",
    "sealed",
    "step_of",
    "writer_name",
]

CHUNK_STEPS = 100
CHUNK_PREFIX = "chunk-"
CHUNKS = "chunks"  # the folder of a series that holds its chunks and its writers
_NUMBERED = re.compile(
    r"chunk-\d{20}-\d{20}-(?P<writer>[0-9a-f]{16})-(?P<seq>\d{6})(?P<end>-end)?\.json"
)
_WRITER = re.compile(r"chunk-writer-(?P<writer>[0-9a-f]{16})\.json")


def writer_name(writer: str) -> str:
    """The file name that announces ``writer`` in a series' ``chunks/`` folder."""
    return f"{CHUNK_PREFIX}writer-{writer}.json"


def is_chunk(key: str) -> bool:
    """A chunk or a writer's announcement (both JSON lists of points, maybe empty)."""
    return key.rsplit("/", 1)[-1].startswith(CHUNK_PREFIX)


def is_announcement(key: str) -> bool:
    """A writer's announcement: an empty list, never worth reading."""
    return _WRITER.fullmatch(key.rsplit("/", 1)[-1]) is not None


def step_of(key: str) -> int | None:
    """The step a single-step key holds (``.../00000000000000000042.json``), else None."""
    name = key.rsplit("/", 1)[-1]
    stem = name[: -len(".json")] if name.endswith(".json") else ""
    return int(stem) if stem.isdigit() else None


def sealed(keys: Iterable[str]) -> bool:
    """Whether the keys listed in a series' ``chunks/`` folder hold every step of the
    series: at least one writer, and each writer announced there with its chunks 0 to n
    and the end at n; no chunk of a writer not announced, no name not understood."""
    writers: set[str] = set()
    numbered: dict[str, list[tuple[int, bool]]] = {}
    for key in keys:
        name = key.rsplit("/", 1)[-1]
        if found := _WRITER.fullmatch(name):
            writers.add(found["writer"])
        elif found := _NUMBERED.fullmatch(name):
            entry = (int(found["seq"]), bool(found["end"]))
            numbered.setdefault(found["writer"], []).append(entry)
        else:
            return False
    if not writers or set(numbered) - writers:
        return False
    for writer in writers:
        chunks = sorted(numbered.get(writer, []))
        if [seq for seq, _ in chunks] != list(range(len(chunks))):
            return False
        if [end for _, end in chunks] != [False] * (len(chunks) - 1) + [True]:
            return False
    return True


@dataclass
class Chunk:
    """Points to write as one chunk of ``series`` under ``name``."""

    series: str
    name: str
    points: list[dict[str, Any]]


@dataclass
class _Series:
    writer: str
    seq: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    logging: int = 0  # steps being written under this writer: drain() waits for them
    unsure: bool = False  # a step may be stored that no chunk holds: never marked ended


class Chunks:
    """This client's side of its series: its writer id in each, and the steps it logged
    and has not yet written as a chunk."""

    def __init__(self, size: int = CHUNK_STEPS) -> None:
        self._size = size
        self._lock = threading.Condition()
        self._announcing = threading.Lock()
        self._series: dict[str, _Series] = {}

    def announce(self, series: str, write: Callable[[str], None]) -> _Series:
        """Make sure this client is announced in ``series`` before it writes a step there:
        the first call writes the announcement (``write(file name)``) and the others wait
        for it. A failed announcement raises and announces nothing. The writer returned
        counts the step as being logged until :meth:`add` or :meth:`abandon`: a
        :meth:`drain` meanwhile waits, so no step stored is left out of its writer's end."""
        with self._lock:
            if (state := self._series.get(series)) is not None:
                state.logging += 1
                return state
        with self._announcing:
            with self._lock:
                if (state := self._series.get(series)) is not None:
                    state.logging += 1
                    return state
            writer = secrets.token_hex(8)
            write(writer_name(writer))
            with self._lock:
                state = self._series[series] = _Series(writer, logging=1)
                return state

    def add(self, series: str, state: _Series, point: dict[str, Any]) -> Chunk | None:
        """Keep ``point``, stored under ``state`` (from :meth:`announce`); the chunk to
        write when it is full."""
        with self._lock:
            state.logging -= 1
            self._lock.notify_all()
            state.pending.append(point)
            if len(state.pending) < self._size:
                return None
            return self._take(series, state, end=False)

    def abandon(self, state: _Series, *, maybe_stored: bool) -> None:
        """The step announced under ``state`` failed; if it may be stored all the same (a
        failure after it landed, a backend of several written), the writer's chunks never
        claim to hold every step, so readers list the series."""
        with self._lock:
            state.logging -= 1
            state.unsure = state.unsure or maybe_stored
            self._lock.notify_all()

    def forget(self, prefix: str) -> None:
        """Drop what is kept of the series below ``prefix`` (their experiment deleted)."""
        with self._lock:
            for series in [s for s in self._series if s.startswith(prefix)]:
                del self._series[series]

    def drain(self) -> list[Chunk]:
        """Each series' last chunk (the steps kept, maybe none), marked as the end, once
        the steps being logged under it are kept; the client is then a new writer to
        every series."""
        with self._lock:
            series, self._series = self._series, {}
            self._lock.wait_for(lambda: all(s.logging == 0 for s in series.values()))
            return [self._take(name, state, end=not state.unsure) for name, state in series.items()]

    @staticmethod
    def _take(series: str, state: _Series, end: bool) -> Chunk:
        points, state.pending = state.pending, []
        steps = [p["step"] for p in points] or [0]
        name = (
            f"{CHUNK_PREFIX}{min(steps):020d}-{max(steps):020d}-{state.writer}-{state.seq:06d}"
            f"{'-end' if end else ''}.json"
        )
        state.seq += 1
        return Chunk(series, name, points)


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
