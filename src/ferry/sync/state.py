"""What the last sync of a mapping left on both sides, and a cache of local checksums.

For each path: the content's checksum (XXH3-128) and the remote ETag right after the last
sync (``Synced``), and the local file's identity when it was hashed (size, mtime, ctime,
inode): while those four are unchanged the file is not read again. Any write changes
ctime, so a same-size edit with its mtime set back is still read again (``aws s3 sync``
compares size and mtime only).

Kept in ``<workspace>/.ferry/sync/<mapping>.state``, written atomically and durably
(fsynced), and read in one read: a JSON document of columns (one list per field, a row
per path), never an object per file, so a mapping of many files loads and saves in a few
milliseconds. The format before it (``<mapping>.json``, an object per path) is read once
when no ``.state`` file exists, and removed when the new one is written. A save that
would write what the file already holds is skipped (a sync that changed nothing writes
nothing). A state that cannot be read is replaced by a fresh one (which deletes nothing:
the safe way to start over), with a note saying so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ferry.storage.local import write_atomically
from ferry.sync.plan import Synced

__all__ = ["FileIdentity", "SyncState", "identity"]

FileIdentity = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
VERSION = 2


def identity(stat: os.stat_result) -> FileIdentity:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


class SyncState:
    """The state of one mapping.

    Args:
        path: where the state lives, as ``<mapping>.json`` (its ``.state`` file beside).
        synced: what both sides held after the last sync, by path.
        hashes: each local file's identity when it was hashed, and its checksum.
        in_progress: True from the start of an apply to its end: found True on load, the
            last run died mid-way (and may have left multipart uploads to abort).
        since: when the run that set ``in_progress`` began (to abort only its uploads).
        origin: the folder and prefix this state describes: a mapping pointed elsewhere
            starts afresh.
        large_uploads: keys the run that set ``in_progress`` was to upload in parts: after
            a crash, only their unfinished multipart uploads are aborted (never another
            writer's).
        note: why an earlier state could not be used (it was unreadable), for the report.
    """

    def __init__(
        self,
        path: Path,
        synced: dict[str, Synced] | None = None,
        hashes: dict[str, tuple[FileIdentity, str]] | None = None,
        in_progress: bool = False,
        since: float = 0.0,
        origin: str = "",
        large_uploads: list[str] | None = None,
        note: str = "",
    ) -> None:
        self.path = path
        self.synced = synced if synced is not None else {}
        self.hashes = hashes if hashes is not None else {}
        self.in_progress = in_progress
        self.since = since
        self.origin = origin
        self.large_uploads = large_uploads if large_uploads is not None else []
        self.note = note
        self._on_disk: tuple[Any, ...] | None = None  # what the .state file holds

    @property
    def file(self) -> Path:
        """The file the state is written to."""
        return self.path.with_suffix(".state")

    @classmethod
    def load(cls, path: Path, origin: str = "") -> SyncState:
        """The state at ``path``, or a fresh one if it describes another folder/prefix."""
        state = cls(path, origin=origin)
        try:
            raw = json.loads(state.file.read_bytes())
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            if raw.get("origin", "") != origin or raw.get("version") != VERSION:
                return state
            state._read_columns(raw)
        except FileNotFoundError:
            return _load_json(state, path, origin)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return _unreadable(path, origin, state.file, exc)
        state._on_disk = state._snapshot()
        return state

    def _read_columns(self, raw: dict[str, Any]) -> None:
        paths, checksums, etags = raw["paths"], raw["checksums"], raw["etags"]
        self.synced = {
            p: Synced(c, e, s)
            for p, c, e, s in zip(paths, checksums, etags, raw["sse"], strict=True)
            if e is not None
        }
        flat = iter(raw["identities"])
        identities = zip(flat, flat, flat, flat, strict=True)
        self.hashes = {
            p: (ident, d if d is not None else c)
            for p, c, ident, d in zip(paths, checksums, identities, raw["digests"], strict=True)
            if ident[0] is not None
        }
        self.in_progress, self.since = bool(raw["in_progress"]), float(raw["since"])
        self.large_uploads = [str(key) for key in raw.get("large_uploads", [])]

    def cached_hash(self, rel: str, ident: FileIdentity) -> str | None:
        known = self.hashes.get(rel)
        return known[1] if known is not None and known[0] == ident else None

    def save(self) -> None:
        """Write the state (atomically), unless the file already holds exactly this."""
        snapshot = self._snapshot()
        if snapshot == self._on_disk:
            return
        document = json.dumps(self._columns(), separators=(",", ":")).encode()
        write_atomically(self.file, [document], durable=True)
        self._on_disk = snapshot
        if self.path.suffix == ".json":
            self.path.unlink(missing_ok=True)  # the format before: replaced by the file above

    def _snapshot(self) -> tuple[Any, ...]:
        return (
            dict(self.synced),
            dict(self.hashes),
            self.in_progress,
            self.since,
            self.origin,
            list(self.large_uploads),
        )

    def _columns(self) -> dict[str, Any]:
        """One row per path known to either table; ``None`` where a table lacks it (a
        digest equal to the synced checksum, the usual case, is not written twice)."""
        synced, hashes = self.synced, self.hashes
        paths = list(synced.keys() | hashes.keys())
        no_sync = Synced(None, None, None)  # type: ignore[arg-type]
        rows = [synced.get(p, no_sync) for p in paths]
        known = [hashes.get(p) for p in paths]
        digests = [
            None if h is None or h[1] == r.checksum else h[1]
            for h, r in zip(known, rows, strict=True)
        ]
        return {
            "version": VERSION,
            "origin": self.origin,
            "in_progress": self.in_progress,
            "since": self.since,
            "large_uploads": self.large_uploads,
            "paths": paths,
            "checksums": [
                r.checksum if r.etag is not None else h[1] if h else None
                for r, h in zip(rows, known, strict=True)
            ],
            "etags": [r.etag for r in rows],
            "sse": [r.sse for r in rows],
            "identities": [x for h in known for x in (h[0] if h else (None,) * 4)],
            "digests": digests,
        }


def _load_json(state: SyncState, path: Path, origin: str) -> SyncState:
    """The state in the format before this one (an object per path), if there is one."""
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if raw.get("origin", "") != origin:
            return state
        state.synced = {
            k: Synced(v["checksum"], v["etag"], v.get("sse"))
            for k, v in raw.get("synced", {}).items()
        }
        state.hashes = {k: (tuple(v[0]), v[1]) for k, v in raw.get("hashes", {}).items()}
        state.in_progress = bool(raw.get("in_progress", False))
        state.since = float(raw.get("since", 0.0))
        state.large_uploads = [str(key) for key in raw.get("large_uploads", [])]
    except FileNotFoundError:
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _unreadable(path, origin, path, exc)
    return state


def _unreadable(path: Path, origin: str, file: Path, exc: BaseException) -> SyncState:
    """A fresh state (it deletes nothing), noting why the one in ``file`` was not used."""
    note = f"the sync state {file} was unreadable ({exc}); started afresh"
    return SyncState(path, origin=origin, note=note)
