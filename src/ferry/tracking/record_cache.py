"""A local cache of entity records (``metadata.json``, tag and comment files), keyed by
(store, key, ETag), so that reading back an unchanged project costs its listing only.

The cache is never trusted on its own: a record is served from it only when a listing
made just now shows the same ETag for that key, so a record rewritten by anyone (rubicon-ml,
another ferry, a copy tool) has another ETag and is fetched again. On S3 the ETag changes
with the content. On a local disk ferry's ETag is the size and the modification time,
which a quick rewrite of the same size could leave unchanged, so a local record is only
kept once it was last modified a few seconds before the read (every later rewrite then
has a later modification time); a copy that preserves modification times is the one
thing that can fool it, as it fools rsync's and ``aws s3 sync``'s quick checks.

One SQLite file in the user cache folder holds the records of every root; it is bounded
(least recently used records go first) and safe to share between processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

__all__ = ["RecordCache", "SqliteRecordCache", "default_cache_file"]

_CHUNK = 500  # keys per query (SQLite allows 999 parameters in old builds)
_DAY = 86_400


class RecordCache(Protocol):
    """Where records fetched once are kept."""

    def get_many(self, url: str, wanted: Mapping[str, str]) -> dict[str, bytes]:
        """The records of ``url`` whose cached ETag equals the listed one (key -> ETag)."""
        ...

    def put_many(self, url: str, records: Iterable[tuple[str, str, bytes]]) -> None:
        """Keep (key, ETag, content) records of ``url``."""
        ...


def default_cache_file(cache_dir: str | None) -> Path:
    """``<cache_dir or the user cache folder>/tracking/records.sqlite3``."""
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("ferry")
    return Path(cache_dir).expanduser() / "tracking" / "records.sqlite3"


class SqliteRecordCache:
    """Records in one SQLite file, at most ``max_bytes`` of content.

    A cache that cannot be used (a read-only folder, a damaged file) turns itself off with
    one warning: reads then fetch every record, as without a cache.
    """

    def __init__(self, path: Path, *, max_bytes: int = 512 * 1024**2) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self._total: int | None = None  # content bytes held, counted once, then added up

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (url TEXT, key TEXT, etag TEXT, data BLOB,"
                " used INTEGER, PRIMARY KEY (url, key))"
            )
            db.execute("CREATE INDEX IF NOT EXISTS records_used ON records (used)")
            self._db = db
        return self._db

    def _guarded(self, what: str, work: Callable[[sqlite3.Connection], None]) -> bool:
        """Run ``work`` (a callable taking the connection) under the lock; False if the
        cache is (or just became) unusable."""
        with self._lock:
            if self._broken:
                return False
            try:
                work(self._connect())
                return True
            except (sqlite3.Error, OSError) as exc:
                self._broken = True
                warnings.warn(
                    f"ferry's tracking cache {self.path} cannot be used ({what}: {exc}); "
                    "records are read from the store without it.",
                    stacklevel=4,
                )
                return False

    def get_many(self, url: str, wanted: Mapping[str, str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        keys = list(wanted)
        now = int(time.time())

        def read(db: sqlite3.Connection) -> None:
            hits: list[str] = []
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT key, etag, data, used FROM records WHERE url = ? AND key IN ({marks})",
                    (url, *chunk),
                )
                for key, etag, data, used in rows:
                    if etag == wanted[key]:
                        found[key] = data
                        if used < now - _DAY:  # refresh the LRU mark at most daily
                            hits.append(key)
            if hits:
                db.executemany(
                    "UPDATE records SET used = ? WHERE url = ? AND key = ?",
                    [(now, url, key) for key in hits],
                )
                db.commit()

        self._guarded("reading", read)
        return found

    def put_many(self, url: str, records: Iterable[tuple[str, str, bytes]]) -> None:
        now = int(time.time())
        rows = [(url, key, etag, data, now) for key, etag, data in records]
        if not rows:
            return

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)", rows)
            db.commit()
            if self._total is None:
                self._total = _content_bytes(db)
            else:  # an over-estimate when a row was replaced: counted again when over the cap
                self._total += sum(len(row[3]) for row in rows)
            if self._total > self.max_bytes:
                self._total = self._evict(db)

        self._guarded("writing", write)

    def _evict(self, db: sqlite3.Connection) -> int:
        """Drop least recently used records until 90% of the cap is left (other processes
        share the file, so the total is counted afresh); the bytes left."""
        total = _content_bytes(db)
        if total <= self.max_bytes:
            return total
        while total > self.max_bytes * 0.9:
            # Drop the least recently used tenth at a time until 90% of the cap is left.
            rows = db.execute(
                "SELECT rowid, LENGTH(data) FROM records ORDER BY used LIMIT "
                "(SELECT MAX(1, COUNT(*) / 10) FROM records)"
            ).fetchall()
            db.executemany("DELETE FROM records WHERE rowid = ?", [(r,) for r, _ in rows])
            db.commit()
            total -= sum(size for _, size in rows)
            if not rows:
                break
        return total

    def close(self) -> None:
        """Close the database (it opens again on next use)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _content_bytes(db: sqlite3.Connection) -> int:
    (total,) = db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM records").fetchone()
    return int(total)
