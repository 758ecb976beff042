"""A Store that passes every call to another and records it: which operations a caller
made, and how many were in flight at once. Injected like any store, nothing patched."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ferry.storage.base import BaseStore, Listing, ObjectInfo, PutMode, Store, StoredObject

T = TypeVar("T")


class RecordingStore(BaseStore):
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.listed: list[str] = []  # the prefixes listed, in order
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.inner.url

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls

    def _run(self, name: str, call: Callable[[], T]) -> T:
        with self._lock:
            self.calls.append(name)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return call()
        finally:
            with self._lock:
                self.in_flight -= 1

    def get_object(self, key: str) -> StoredObject:
        return self._run("get", lambda: self.inner.get_object(key))

    def get_file(
        self, key: str, path: Path, *, progress: Any = None, size: int | None = None
    ) -> ObjectInfo:
        return self._run(
            "get_file", lambda: self.inner.get_file(key, path, progress=progress, size=size)
        )

    def head(self, key: str) -> ObjectInfo:
        return self._run("head", lambda: self.inner.head(key))

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        return self._run("put", lambda: self.inner.put(key, data, mode=mode, metadata=metadata))

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
        progress: Any = None,
    ) -> ObjectInfo:
        return self._run(
            "put_file",
            lambda: self.inner.put_file(key, path, mode=mode, metadata=metadata, progress=progress),
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.listed.append(prefix)
        return iter(self._run("list", lambda: list(self.inner.list(prefix))))

    def ls(self, prefix: str = "") -> Listing:
        return self._run("ls", lambda: self.inner.ls(prefix))

    def delete(self, keys: Iterable[str]) -> None:
        self._run("delete", lambda: self.inner.delete(keys))

    @property
    def concurrency(self) -> Any:
        return getattr(self.inner, "concurrency", 1)
