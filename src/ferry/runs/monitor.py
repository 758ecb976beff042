"""Reading a run from S3 (workflow C): status, heartbeat, final marker, log chunks.

Nothing here needs the instance to answer: S3 is the message bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ferry.errors import FerryError, NotFoundError
from ferry.runs.layout import CANCEL, FINAL, HEARTBEAT, LOGS, MANIFEST, STATUS
from ferry.storage.base import Store

__all__ = ["LogCursor", "read_json", "request_cancel", "snapshot"]


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
