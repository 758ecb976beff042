"""Reading a run from S3 (workflow C): status, heartbeat, final marker, log chunks.

Nothing here needs the instance to answer: S3 is the message bus."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ferry.errors import FerryError, NotFoundError
from ferry.runs.layout import CANCEL, FINAL, HEARTBEAT, HEARTBEATS, LOGS, MANIFEST, STATUS
from ferry.storage.base import Store

__all__ = ["HeartbeatCursor", "LogCursor", "LogTail", "read_json", "request_cancel", "snapshot"]


def read_json(store: Store, key: str) -> dict[str, Any] | None:
    """The JSON object at ``key``, or None when it is absent or unreadable."""
    try:
        value = json.loads(store.get(key))
    except NotFoundError:
        return None
    except (ValueError, FerryError):
        return None
    return value if isinstance(value, dict) else None


def snapshot(store: Store) -> dict[str, Any]:
    """status, heartbeat, final and manifest as they are now (each may be None)."""
    return {
        name: read_json(store, key)
        for name, key in (
            ("status", STATUS),
            ("heartbeat", HEARTBEAT),
            ("final", FINAL),
            ("manifest", MANIFEST),
        )
    }


def request_cancel(store: Store, reason: str) -> None:
    """Write ``control/cancel``: the executor stops training, pushes, and finishes."""
    store.put(CANCEL, json.dumps({"reason": reason}).encode())


@dataclass
class LogCursor:
    """Reads log chunks of one rank in order, each once."""

    store: Store
    rank: int = 0
    seen: str = ""

    def new_text(self) -> Iterator[str]:
        """The text of chunks written since the last call, in order."""
        prefix = f"{LOGS}{self.rank}/"
        keys = sorted(info.key for info in self.store.list(prefix) if info.key > self.seen)
        for key in keys:
            try:
                text = self.store.get(key).decode("utf-8", errors="replace")
            except NotFoundError:
                continue
            self.seen = key
            yield text


@dataclass
class LogTail:
    """The end of one rank's log, kept up to date: log chunks are create-only, so each is
    read once, newest first, and only until the tail is long enough.

    Args:
        store: the run's bus.
        rank: whose log.
        keep_chars: how much of the end is kept (and at most returned).
        max_chunks: the most chunks read in one call (a log of many small chunks).
    """

    store: Store
    rank: int = 0
    keep_chars: int = 256 * 1024
    max_chunks: int = 64
    _chunks: deque[str] = field(default_factory=deque)  # the kept end, oldest first
    _size: int = 0
    _seen: str = ""  # the newest chunk read

    def text(self, max_chars: int | None = None) -> str:
        """The last ``max_chars`` characters (``keep_chars`` at most), from a line start."""
        keys = [i.key for i in self.store.list(f"{LOGS}{self.rank}/") if i.key > self._seen]
        new, size = self._read_newest(keys)
        if len(new) < len(keys) and self._seen:  # chunks skipped: the kept end is not next
            self._chunks.clear()
            self._size = 0
        self._chunks.extend(new)
        self._size += size
        self._seen = keys[-1] if keys else self._seen
        while len(self._chunks) > 1 and self._size - len(self._chunks[0]) >= self.keep_chars:
            self._size -= len(self._chunks.popleft())
        return _from_a_line(
            "".join(self._chunks), min(max_chars or self.keep_chars, self.keep_chars)
        )

    def _read_newest(self, keys: list[str]) -> tuple[list[str], int]:
        texts: list[str] = []
        size = 0
        for key in reversed(keys[-self.max_chunks :]):
            try:
                texts.append(self.store.get(key).decode("utf-8", errors="replace"))
            except NotFoundError:
                texts.append("")  # a chunk is never deleted by the run: skip it
            size += len(texts[-1])
            if size >= self.keep_chars:
                break
        return texts[::-1], size


def _from_a_line(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    end = text[-max_chars:]
    return end.split("\n", 1)[1] if "\n" in end[:-1] else end


@dataclass
class HeartbeatCursor:
    """Reads the run's heartbeat history (``heartbeats/<seq>.jsonl``), each full chunk once.

    The instance rewrites only its newest chunk, so the others are kept here and only the
    newest (and any that appeared since) is read again. A run from before the history
    existed has no chunks: :meth:`samples` is then empty.
    """

    store: Store
    _kept: list[dict[str, Any]] = field(default_factory=list)
    _kept_up_to: str = ""  # the last chunk whose lines are in ``_kept``

    def samples(self) -> list[dict[str, Any]]:
        """Every heartbeat so far, oldest first."""
        keys = [i.key for i in self.store.list(HEARTBEATS) if i.key > self._kept_up_to]
        newest: list[dict[str, Any]] = []
        for index, key in enumerate(keys):
            lines = self._read(key)
            if index < len(keys) - 1:  # an older chunk is full: it never changes again
                self._kept += lines
                self._kept_up_to = key
            else:
                newest = lines
        return self._kept + newest

    def _read(self, key: str) -> list[dict[str, Any]]:
        try:
            text = self.store.get(key).decode("utf-8", errors="replace")
        except NotFoundError:
            return []
        found = []
        for line in text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found
