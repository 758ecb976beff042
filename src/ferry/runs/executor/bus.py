"""The executor's side of the S3 message bus: the run's prefix (see :mod:`ferry.runs.layout`).

The instance has no inbound port; everything the dev machine learns about a run it reads
from these objects, and the one thing it can say (``control/cancel``) it writes there.
Status, heartbeat and rank documents are overwritten; log chunks, ``final.json`` are
create-only. A status or heartbeat that cannot be written is reported and skipped: the
bus never stops a run. Presence checks use listings, which need no SSE-C key.

Each heartbeat is also a line of the run's heartbeat history (``heartbeats/<seq>.jsonl``,
rank 0), what the dashboard draws its resource charts from: the newest chunk is rewritten
with every beat until it holds :data:`HISTORY_LINES` lines (an hour at the default 30 s
heartbeat), then the next one begins, so a full chunk never changes again and one beat
costs one more PUT of at most :data:`HISTORY_BYTES`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ferry.errors import FerryError
from ferry.runs import layout
from ferry.runs.executor.ranks import Rank
from ferry.storage.base import Store

__all__ = ["HISTORY_BYTES", "HISTORY_LINES", "Bus"]

HISTORY_LINES = 120
HISTORY_BYTES = 256 * 1024


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, default=str).encode()


class Bus:
    """Writes this rank's messages under the run's prefix.

    Args:
        store: rooted at the run's prefix (``s3://bucket/<run root>/<run id>``).
        rank: which rank writes (rank 0 also writes the run-wide documents).
        on_error: told, in words, of a best-effort write that failed.
        history_lines: heartbeats per chunk of the heartbeat history.
    """

    def __init__(
        self,
        store: Store,
        rank: Rank,
        on_error: Callable[[str], None] | None = None,
        *,
        history_lines: int = HISTORY_LINES,
    ) -> None:
        self.store = store
        self.rank = rank
        self._on_error = on_error
        self._history_lines = history_lines
        self._history: list[str] = []  # the lines of the history chunk being filled
        self._history_seq: int | None = None  # its number, once the listing has said

    def _exists(self, key: str) -> bool:
        return any(info.key == key for info in self.store.list(key))

    def finished(self) -> bool:
        """Whether this run already has its final marker (a run is never executed twice)."""
        return self._exists(layout.FINAL)

    def cancel_requested(self) -> bool:
        """Whether someone asked the run to stop (``control/cancel``, any content)."""
        return self._exists(layout.CANCEL)

    def next_log_seq(self) -> int:
        """The number after the last log chunk this rank already wrote (0 if none)."""
        return self._next_seq(f"{layout.LOGS}{self.rank.rank}/", ".log")

    def _next_seq(self, prefix: str, suffix: str) -> int:
        numbers = [
            int(name[: -len(suffix)])
            for name in (i.key[len(prefix) :] for i in self.store.list(prefix))
            if name.endswith(suffix) and name[: -len(suffix)].isdigit()
        ]
        return max(numbers, default=-1) + 1

    def log_chunk(self, seq: int, data: bytes) -> None:
        """Write chunk ``seq`` create-only (raises ``AlreadyExistsError`` if taken)."""
        self.store.put(layout.log_key(self.rank.rank, seq), data, mode="create")

    def status(self, document: dict[str, Any]) -> bool:
        """This rank's status; rank 0's is also the run's ``status.json``."""
        written = self._best_effort(layout.rank_key(self.rank.rank), document)
        if self.rank.leader:
            written = self._best_effort(layout.STATUS, document) and written
        return written

    def heartbeat(self, document: dict[str, Any]) -> bool:
        """The run's heartbeat (rank 0), and its line of the heartbeat history; other
        ranks refresh their rank document instead."""
        written = self._best_effort(layout.HEARTBEAT, document)
        return self._remember(document) and written

    def _remember(self, document: dict[str, Any]) -> bool:
        """Add a line to the history chunk being filled and write that chunk again."""
        self._history.append(json.dumps(document, separators=(",", ":"), default=str))
        try:
            if self._history_seq is None:  # after any chunks an earlier executor wrote
                self._history_seq = self._next_seq(layout.HEARTBEATS, ".jsonl")
        except FerryError as exc:
            self._say(f"could not list {layout.HEARTBEATS}: {exc.problem}")
            del self._history[: -self._history_lines]
            return False
        data = ("\n".join(self._history) + "\n").encode()
        written = self._put(layout.heartbeats_key(self._history_seq), data)
        if len(self._history) >= self._history_lines or len(data) >= HISTORY_BYTES:
            # Full, written or not: while S3 fails, the history loses lines, not memory.
            self._history_seq, self._history = self._history_seq + 1, []
        return written

    def manifest(self, document: dict[str, Any]) -> None:
        """What was pushed (raises on failure: the caller retries)."""
        self.store.put(layout.MANIFEST, _encode(document))

    def final(self, document: dict[str, Any]) -> None:
        """The final marker, create-only: raises ``AlreadyExistsError`` if present."""
        self.store.put(layout.FINAL, _encode(document), mode="create")

    def _best_effort(self, key: str, document: dict[str, Any]) -> bool:
        return self._put(key, _encode(document))

    def _put(self, key: str, data: bytes) -> bool:
        try:
            self.store.put(key, data)
        except FerryError as exc:
            self._say(f"could not write {key}: {exc.problem}")
            return False
        return True

    def _say(self, problem: str) -> None:
        if self._on_error is not None:
            self._on_error(problem)
