"""A local disk cache in front of any store (seed 004's cache, for every store).

Entries are keyed by a hash of the object's full URL. A read with a cached entry costs one
HEAD: if the ETag still matches, the cached bytes are served; otherwise the object is read
again. A read without an entry is a single GET. The cache keeps at most ``max_bytes``,
evicting the least recently used entries. In offline mode (or when the store cannot be
reached) cached entries are served with a :class:`StaleCacheWarning`, and a missing entry
raises :class:`OfflineError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ferry.errors import EndpointError, FerryError, OfflineError
from ferry.storage.base import (
    BaseStore,
    Listing,
    ObjectInfo,
    Progress,
    PutMode,
    Store,
    StoredObject,
    local_errors,
)
from ferry.storage.local import copy_chunks, counted, write_atomically

__all__ = ["CachedStore", "StaleCacheWarning"]


class StaleCacheWarning(UserWarning):
    """A cached copy was served without checking it against the store."""


class CachedStore(BaseStore):
    """Wrap ``store`` with a cache in ``cache_dir``.

    Args:
        store: the store to cache.
        cache_dir: where cached objects live (created when needed).
        max_bytes: the cache's size cap; least recently used entries go first.
        offline: serve from the cache without contacting ``store``.
    """

    def __init__(
        self, store: Store, cache_dir: Path, *, max_bytes: int = 10 * 1024**3, offline: bool = False
    ) -> None:
        self.store = store
        self.cache_dir = Path(cache_dir).expanduser()
        self.max_bytes = max_bytes
        self.offline = offline

    @property
    def url(self) -> str:
        return self.store.url

    def _entry(self, key: str) -> Path:
        digest = hashlib.sha256(f"{self.store.url}/{key}".encode()).hexdigest()
        return self.cache_dir / digest[:2] / digest

    def _cached_info(self, key: str) -> ObjectInfo | None:
        try:
            raw = json.loads(self._entry(key).with_suffix(".json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not self._entry(key).exists():
            return None
        raw["mtime"] = datetime.fromisoformat(raw["mtime"])
        return ObjectInfo(**raw)

    def _touch(self, key: str) -> Path:
        entry = self._entry(key)
        os.utime(entry.with_suffix(".json"))  # mark as recently used
        return entry

    def _remember(self, key: str, data: bytes, info: ObjectInfo) -> bool:
        if len(data) > self.max_bytes:
            return False
        entry = self._entry(key)
        self._forget(key)  # files derived from the old content go with it
        write_atomically(entry, [data])
        record = {**asdict(info), "mtime": info.mtime.isoformat(), "metadata": dict(info.metadata)}
        write_atomically(entry.with_suffix(".json"), [json.dumps(record).encode()])
        self._evict()
        return True

    def _stale(self, key: str, reason: str) -> tuple[Path, ObjectInfo]:
        info = self._cached_info(key)
        if info is None:
            raise OfflineError(
                f"{self.store.url}/{key} is not in the local cache and {reason}.",
                "Go online (unset FERRY_OFFLINE) and read it once to cache it.",
            )
        warnings.warn(
            f"Served {self.store.url}/{key} from the local cache without checking it "
            f"({reason}); it may be stale.",
            StaleCacheWarning,
            stacklevel=4,
        )
        return self._touch(key), info

    def get_object(self, key: str) -> StoredObject:
        path, info = self.local_path(key)
        return StoredObject(path.read_bytes(), info)

    def local_path(self, key: str) -> tuple[Path, ObjectInfo]:
        """The cached copy's file and info, fetched or revalidated first (one HEAD when
        cached, one GET when not). Files derived from it may sit beside it with another
        suffix (``<entry>.arrow``): they share the entry's lifetime and size cap."""
        if self.offline:
            return self._stale(key, "offline mode is on")
        cached = self._cached_info(key)
        try:
            if cached is not None and self.store.head(key).etag == cached.etag:
                return self._touch(key), cached
            fresh = self.store.get_object(key)
        except EndpointError:
            if cached is None:
                raise
            return self._stale(key, "the store could not be reached")
        if not self._remember(key, fresh.data, fresh.info):
            raise FerryError(
                f"{self.store.url}/{key} ({fresh.info.size} bytes) is larger than the whole cache.",
                "Raise cache_max_bytes.",
            )
        return self._entry(key), fresh.info

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        cached, info = self.local_path(key)
        with open(cached, "rb") as handle, local_errors(path, "write"):
            write_atomically(Path(path), counted(copy_chunks(handle), progress))
        return info

    def head(self, key: str) -> ObjectInfo:
        if self.offline:
            return self._stale(key, "offline mode is on")[1]
        return self.store.head(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.store.list(prefix)

    def ls(self, prefix: str = "") -> Listing:
        return self.store.ls(prefix)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        info = self.store.put(key, data, mode=mode, metadata=metadata)
        self._remember(key, data, info)
        return info

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        self._forget(key)
        return self.store.put_file(key, path, mode=mode, metadata=metadata, progress=progress)

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self.store.delete(keys)
        for key in keys:
            self._forget(key)

    def _forget(self, key: str) -> None:
        """Drop an entry: its data, its record and any file derived from it."""
        entry = self._entry(key)
        for path in entry.parent.glob(f"{entry.name}*"):
            path.unlink(missing_ok=True)

    def _evict(self) -> None:
        entries = []
        for record in self.cache_dir.glob("*/*.json"):
            files = list(record.parent.glob(f"{record.stem}*"))
            try:
                size = sum(f.stat().st_size for f in files if f != record)
                entries.append((record.stat().st_mtime, size, files))
            except FileNotFoundError:
                continue
        total = sum(size for _, size, _ in entries)
        for _, size, files in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            for path in files:
                path.unlink(missing_ok=True)
            total -= size
