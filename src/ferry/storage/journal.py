"""A note, kept while a large upload runs, that lets the next run clean up after a kill.

A multipart upload killed with ``kill -9`` leaves its parts behind: invisible, and billed.
Before ``ferry cp`` starts one, it writes an entry here (the store, the key, when, its own
process id) and removes it when the upload ends, however it ends. The next ``ferry cp``
finds entries whose process is gone and aborts exactly those uploads - the ones that
process began on that key, never another writer's. Checking costs one folder listing, so
a copy never pays for a listing of the bucket's uploads when nothing was killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ferry.storage.base import AbortsUploads, Store
from ferry.storage.local import write_atomically

__all__ = ["UploadJournal"]

_SLACK = timedelta(seconds=60)  # server clocks differ a little from ours


class UploadJournal:
    """Entries for large uploads in flight, in ``folder`` (the user's state folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def uploading(self, store: Store, key: str) -> Iterator[None]:
        """Note the upload of ``key`` to ``store`` while the block runs."""
        entry = self.folder / f"{hashlib.sha256(f'{store.url}/{key}'.encode()).hexdigest()[:24]}"
        note = {"url": store.url, "key": key, "started": time.time(), "pid": os.getpid()}
        write_atomically(entry, [json.dumps(note).encode()], durable=True)
        try:
            yield
        finally:
            entry.unlink(missing_ok=True)

    def clean_up(self, store: Store) -> int:
        """Abort the uploads to ``store`` that a killed process began; how many."""
        if not isinstance(store, AbortsUploads) or not self.folder.is_dir():
            return 0
        aborted = 0
        for entry in self.folder.iterdir():
            note = _read(entry)
            if note is None or note["url"] != store.url or _alive(int(note["pid"])):
                continue
            since = datetime.fromtimestamp(float(note["started"]), UTC) - _SLACK
            aborted += store.abort_incomplete_uploads(str(note["key"]), since, exact=True)
            entry.unlink(missing_ok=True)
        return aborted


def _read(entry: Path) -> dict[str, Any] | None:
    with suppress(OSError, ValueError):
        note = json.loads(entry.read_text())
        if isinstance(note, dict) and {"url", "key", "started", "pid"} <= set(note):
            return note
    return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
