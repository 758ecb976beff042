"""An in-memory store: a real backend (not a mock), private to each instance."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from ferry.errors import AlreadyExistsError, NotFoundError
from ferry.storage.base import (
    BaseStore,
    ObjectInfo,
    Progress,
    PutMode,
    StoredObject,
    check_data,
    check_key,
    local_errors,
)
from ferry.storage.local import write_atomically

__all__ = ["MemoryStore"]


class MemoryStore(BaseStore):
    """Objects kept in a dict; each write costs the same however many objects there are."""

    concurrency = 1  # nothing to wait for: a pool would only add overhead

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._objects: dict[str, StoredObject] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"memory://{self._name}"

    def get_object(self, key: str) -> StoredObject:
        try:
            return self._objects[check_key(key)]
        except KeyError:
            raise NotFoundError(f"No object at {self.url}/{key}.", "Check the key.") from None

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        stored = self.get_object(key)
        with local_errors(path, "write"):
            write_atomically(Path(path), [stored.data])
        if progress is not None:
            progress(len(stored.data))
        return stored.info

    def head(self, key: str) -> ObjectInfo:
        return self.get_object(key).info

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        data = check_data(data)
        info = ObjectInfo(
            key=check_key(key),
            size=len(data),
            etag=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            mtime=datetime.now(UTC),
            metadata=dict(metadata or {}),
        )
        with self._lock:
            if mode == "create" and key in self._objects:
                raise AlreadyExistsError(
                    f"An object already exists at {self.url}/{key}.",
                    "Choose another key, or write with mode='overwrite'.",
                )
            self._objects[key] = StoredObject(data, info)
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
        with local_errors(path, "read"):
            data = Path(path).read_bytes()
        info = self.put(key, data, mode=mode, metadata=metadata)
        if progress is not None:
            progress(len(data))
        return info

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
            infos = [self._objects[k].info for k in keys]
        yield from infos

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)
