"""What the last sync of a mapping left on both sides, and a cache of local checksums.

Kept in ``<workspace>/.ferry/sync/<mapping>.json``, written atomically. For each path:
the content's checksum (XXH3-128) and the remote ETag right after the last sync
(``Synced``), and the local file's identity when it was hashed (size, mtime, ctime,
inode): while those four are unchanged the file is not read again. Any write changes
ctime, so a same-size edit with its mtime set back is still read again (``aws s3 sync``
compares size and mtime only).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ferry.storage.local import write_atomically
from ferry.sync.plan import Synced

__all__ = ["FileIdentity", "SyncState"]

FileIdentity = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def identity(stat: os.stat_result) -> FileIdentity:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@dataclass
class SyncState:
    """The state of one mapping."""

    path: Path
    synced: dict[str, Synced] = field(default_factory=dict)
    hashes: dict[str, tuple[FileIdentity, str]] = field(default_factory=dict)
    # True from the start of an apply to its end: found True on load, the last run died
    # mid-way (and may have left multipart uploads to abort).
    in_progress: bool = False
    # When the run that set in_progress began (to abort only the uploads it left).
    since: float = 0.0
    # The folder and prefix this state describes: a mapping pointed elsewhere starts afresh.
    origin: str = ""
    # Keys the run that set in_progress was to upload in parts: after a crash, only their
    # unfinished multipart uploads are aborted (never another writer's).
    large_uploads: list[str] = field(default_factory=list)
    # Why an earlier state could not be used (it was unreadable), for the report.
    note: str = ""

    @classmethod
    def load(cls, path: Path, origin: str = "") -> SyncState:
        """The state at ``path``; a fresh one if it describes another folder/prefix, or
        cannot be read (a fresh state deletes nothing: the safe way to start over)."""
        try:
            raw = json.loads(path.read_text())
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            return cls(path, origin=origin)
        except (OSError, ValueError) as exc:
            note = f"the sync state {path} was unreadable ({exc}); started afresh"
            return cls(path, origin=origin, note=note)
        if raw.get("origin", "") != origin:
            return cls(path, origin=origin)
        synced = {
            k: Synced(v["checksum"], v["etag"], v.get("sse"))
            for k, v in raw.get("synced", {}).items()
        }
        hashes = {k: (tuple(v[0]), v[1]) for k, v in raw.get("hashes", {}).items()}
        return cls(
            path,
            synced,
            hashes,
            bool(raw.get("in_progress", False)),
            float(raw.get("since", 0.0)),
            origin,
            list(raw.get("large_uploads", [])),
        )

    def cached_hash(self, rel: str, ident: FileIdentity) -> str | None:
        known = self.hashes.get(rel)
        return known[1] if known and tuple(known[0]) == ident else None

    def save(self) -> None:
        document = {
            "synced": {
                k: {"checksum": v.checksum, "etag": v.etag, "sse": v.sse}
                for k, v in self.synced.items()
            },
            "hashes": {k: [list(v[0]), v[1]] for k, v in self.hashes.items()},
            "in_progress": self.in_progress,
            "since": self.since,
            "origin": self.origin,
            "large_uploads": self.large_uploads,
        }
        write_atomically(self.path, [json.dumps(document).encode()], durable=True)
