"""The executor's side of the S3 message bus: the run's prefix (see :mod:`ferry.runs.layout`).

The instance has no inbound port; everything the dev machine learns about a run it reads
from these objects, and the one thing it can say (``control/cancel``) it writes there.
Status, heartbeat and rank documents are overwritten; log chunks, ``final.json`` are
create-only. A status or heartbeat that cannot be written is reported and skipped: the
bus never stops a run. Presence checks use listings, which need no SSE-C key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ferry.errors import FerryError
from ferry.runs import layout
from ferry.runs.executor.ranks import Rank
from ferry.storage.base import Store

__all__ = ["Bus"]


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, default=str).encode()


class Bus:
    """Writes this rank's messages under the run's prefix.

    Args:
        store: rooted at the run's prefix (``s3://bucket/<run root>/<run id>``).
        rank: which rank writes (rank 0 also writes the run-wide documents).
        on_error: told, in words, of a best-effort write that failed.
    """

    def __init__(
        self, store: Store, rank: Rank, on_error: Callable[[str], None] | None = None
    ) -> None:
        self.store = store
        self.rank = rank
        self._on_error = on_error

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
        prefix = f"{layout.LOGS}{self.rank.rank}/"
        numbers = [
            int(name[:-4])
            for name in (i.key[len(prefix) :] for i in self.store.list(prefix))
            if name.endswith(".log") and name[:-4].isdigit()
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
        """The run's heartbeat (rank 0); other ranks refresh their rank document instead."""
        return self._best_effort(layout.HEARTBEAT, document)

    def manifest(self, document: dict[str, Any]) -> None:
        """What was pushed (raises on failure: the caller retries)."""
        self.store.put(layout.MANIFEST, _encode(document))

    def final(self, document: dict[str, Any]) -> None:
        """The final marker, create-only: raises ``AlreadyExistsError`` if present."""
        self.store.put(layout.FINAL, _encode(document), mode="create")

    def _best_effort(self, key: str, document: dict[str, Any]) -> bool:
        try:
            self.store.put(key, _encode(document))
        except FerryError as exc:
            if self._on_error is not None:
                self._on_error(f"could not write {key}: {exc.problem}")
            return False
        return True
