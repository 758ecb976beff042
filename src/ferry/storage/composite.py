"""A store over several stores: writes go to all, reads come from the first that answers.

This is rubicon-ml's multiple-backend rule (seed 001). A write that fails on one member
still goes to the others; then one :class:`MultiError` names each member that failed.
A read tries the members in order; when every member fails, one error lists each
member's failure (a :class:`NotFoundError` when every member simply lacks the object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from ferry.errors import ConfigError, FerryError, MultiError, NotFoundError
from ferry.storage.base import (
    BaseStore,
    Listing,
    ObjectInfo,
    Progress,
    PutMode,
    Store,
    StoredObject,
)

__all__ = ["CompositeStore"]

T = TypeVar("T")


class CompositeStore(BaseStore):
    """Several stores acting as one; the first member is read first."""

    def __init__(self, members: Sequence[Store]) -> None:
        if not members:
            raise ConfigError("A composite store needs at least one member.", "Pass a store.")
        self.members = list(members)

    @property
    def url(self) -> str:
        return "composite:" + ",".join(m.url for m in self.members)

    def _write(self, action: str, call: Callable[[Store], T]) -> T:
        results, failures = [], []
        for member in self.members:
            try:
                results.append(call(member))
            except FerryError as exc:
                failures.append((member.url, exc))
        if failures:
            raise MultiError(action, failures)
        return results[0]

    def _read(self, action: str, call: Callable[[Store], T]) -> T:
        failures: list[tuple[str, BaseException]] = []
        for member in self.members:
            try:
                return call(member)
            except FerryError as exc:
                failures.append((member.url, exc))
        detail = "; ".join(f"{url}: {error}" for url, error in failures)
        if all(isinstance(error, NotFoundError) for _, error in failures):
            raise NotFoundError(f"{action}: not found in any store ({detail}).", "Check the key.")
        raise MultiError(action, failures)

    def get_object(self, key: str) -> StoredObject:
        return self._read(f"Reading {key}", lambda s: s.get_object(key))

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        return self._read(
            f"Reading {key}", lambda s: s.get_file(key, path, progress=progress, size=size)
        )

    def head(self, key: str) -> ObjectInfo:
        return self._read(f"Reading {key}", lambda s: s.head(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Materialise inside the try so a failing listing falls through to the next member.
        yield from self._read(f"Listing {prefix!r}", lambda s: list(s.list(prefix)))

    def ls(self, prefix: str = "") -> Listing:
        return self._read(f"Listing {prefix!r}", lambda s: s.ls(prefix))

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        return self._write(
            f"Writing {key}", lambda s: s.put(key, data, mode=mode, metadata=metadata)
        )

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        # Progress follows the first member only: the others send the same bytes.
        return self._write(
            f"Writing {key}",
            lambda s: s.put_file(
                key,
                path,
                mode=mode,
                metadata=metadata,
                progress=progress if s is self.members[0] else None,
            ),
        )

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self._write("Deleting", lambda s: s.delete(keys))
