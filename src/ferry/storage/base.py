"""The Store protocol every backend implements, and the types it speaks.

A store is rooted at a URL (``memory://name``, a local folder, ``s3://bucket/prefix``) and
addresses objects by *keys*: ``/``-separated paths relative to that root. Keys never start
with ``/`` and never contain ``.`` or ``..`` segments, so no key can reach outside its root.

Backend differences, stated once:
- ``etag`` is S3's ETag on S3; on disk it is derived from size and mtime (cheap, changes
  on every write); in memory it is the MD5 of the content.
- ``checksum`` is what the backend keeps without extra reads: S3's stored checksum (for
  example ``crc32:...``), ``None`` on disk.
- ``put(mode="create")`` is atomic on every backend: S3 uses a conditional write
  (``If-None-Match: *``), disk uses a hard link, memory a lock.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from ferry.errors import (
    AccessDeniedError,
    ConfigError,
    FerryError,
    LocalFileError,
    NotFoundError,
)

__all__ = [
    "AbortsUploads",
    "BaseStore",
    "ChecksBucket",
    "Concurrent",
    "Encrypted",
    "Listing",
    "ObjectInfo",
    "Progress",
    "PutMode",
    "Store",
    "StoredObject",
    "check_data",
    "check_key",
    "join_key",
    "local_errors",
]

PutMode = Literal["overwrite", "create"]
Progress = Callable[[int], None]  # told of each run of bytes moved


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object without reading it."""

    key: str
    size: int
    etag: str
    mtime: datetime
    checksum: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    """An object's content together with its info."""

    data: bytes
    info: ObjectInfo


@dataclass(frozen=True)
class Listing:
    """One level of a listing: sub-prefixes (ending in ``/``) and the objects at this level."""

    prefixes: list[str]
    objects: list[ObjectInfo]


@runtime_checkable
class Store(Protocol):
    """A place that keeps objects by key. See the module docstring for the rules."""

    @property
    def url(self) -> str:
        """The URL this store is rooted at."""
        ...

    def get(self, key: str) -> bytes:
        """The object's content. Raises ``NotFoundError``."""
        ...

    def get_object(self, key: str) -> StoredObject:
        """The object's content and info in one request. Raises ``NotFoundError``."""
        ...

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        """Stream the object to ``path``; the file appears whole or not at all.
        ``progress`` is told of each run of bytes as it arrives. ``size``, when a listing
        told it, lets the store choose how to read (one request or ranges in parallel);
        the object as it is when read is what lands, whatever its size."""
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Write ``data``; with ``mode="create"`` raise ``AlreadyExistsError`` if present."""
        ...

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        """Stream the file at ``path`` to ``key`` in constant memory; ``progress`` is told
        of each run of bytes as it is sent."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """The object's info. Raises ``NotFoundError``."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is at ``key``."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, at any depth, in key order."""
        ...

    def ls(self, prefix: str = "") -> Listing:
        """One level below ``prefix`` (which should be empty or end in ``/``)."""
        ...

    def delete(self, keys: Iterable[str]) -> None:
        """Delete the objects; keys that do not exist are ignored."""
        ...


# Optional capabilities: small protocols a store (or a wrapper passing them through) may
# implement; callers test with isinstance instead of probing attributes.


@runtime_checkable
class AbortsUploads(Protocol):
    """A store whose interrupted uploads leave invisible, billed parts (S3 multipart)."""

    def abort_incomplete_uploads(
        self,
        prefix: str = "",
        since: datetime | None = None,
        *,
        exact: bool = False,
        only: Collection[str] | None = None,
    ) -> int:
        """Abort uploads begun under ``prefix`` (of that key alone with ``exact``, of the
        keys in ``only`` if given; after ``since``) and never finished; how many."""
        ...

    def list_incomplete_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """(key, upload id) of uploads begun under ``prefix`` and never finished."""
        ...


@runtime_checkable
class ChecksBucket(Protocol):
    """A store that can say at once whether its bucket (or root) is reachable."""

    def check_bucket(self) -> None:
        """Raise a clear ferry error now if the root is missing or not accessible."""
        ...


@runtime_checkable
class Concurrent(Protocol):
    """A store that serves many requests at once (how many is worth sending)."""

    @property
    def concurrency(self) -> int:
        """Requests worth keeping in flight."""
        ...


@runtime_checkable
class Encrypted(Store, Protocol):
    """A store that may write with a customer key (SSE-C) and can rewrite objects with it."""

    @property
    def encryption_id(self) -> str:
        """A fingerprint of the key objects are written with, ``""`` for none."""
        ...

    def encrypt(self, key: str) -> ObjectInfo:
        """Rewrite an object stored without the key with it, server-side."""
        ...

    def without_encryption(self) -> Store:
        """The same store without the key: reads objects stored without SSE-C."""
        ...


class BaseStore(ABC):
    """Shared behaviour for backends: the derived methods of :class:`Store`."""

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def get_object(self, key: str) -> StoredObject: ...

    @abstractmethod
    def head(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def get(self, key: str) -> bytes:
        return self.get_object(key).data

    def exists(self, key: str) -> bool:
        from ferry.errors import NotFoundError

        try:
            self.head(key)
        except NotFoundError:
            return False
        return True

    def ls(self, prefix: str = "") -> Listing:
        """Derive one level from the full listing; backends with a cheaper way override."""
        prefixes: dict[str, None] = {}
        objects = []
        for info in self.list(prefix):
            rest = info.key[len(prefix) :]
            if "/" in rest:
                prefixes[prefix + rest.split("/", 1)[0] + "/"] = None
            else:
                objects.append(info)
        return Listing(list(prefixes), objects)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


_CONTROL = frozenset(chr(c) for c in (*range(32), 127))


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ``ConfigError``.

    A key has no empty, ``.`` or ``..`` parts, no backslash, and no control character
    (NUL, newline, ...): every key ferry writes can be a file name on any disk.
    """
    if not isinstance(key, str):
        raise ConfigError(
            f"Key {key!r} is a {type(key).__name__}, not a str.", "Pass the key as a string."
        )
    parts = key.split("/")
    if not key or any(p in {"", ".", ".."} for p in parts) or "\\" in key:
        raise ConfigError(
            f"Key {key!r} is not a valid relative key.",
            "Use a '/'-separated path with no empty, '.' or '..' parts (no leading, trailing "
            "or doubled '/').",
        )
    if not _CONTROL.isdisjoint(key):
        raise ConfigError(
            f"Key {key!r} contains a control character (NUL, newline, tab, ...).",
            "Use printable characters only; such keys cannot be file names.",
        )
    return key


def join_key(*parts: str) -> str:
    """Join key parts with ``/``, ignoring empty ones."""
    return posixpath.join(*[p.strip("/") for p in parts if p.strip("/")]) if parts else ""


def check_data(data: object) -> bytes:
    """``data`` as bytes, or a ``ConfigError`` saying what to pass instead."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    hint = (
        "Encode text first: data.encode()"
        if isinstance(data, str)
        else ("Pass bytes (to store any Python object, use ferry.objects.s3store).")
    )
    raise ConfigError(f"Data to store is a {type(data).__name__}, not bytes.", hint)


@contextmanager
def local_errors(path: Path | str, doing: str) -> Iterator[None]:
    """Turn an ``OSError`` about the local file ``path`` into the ferry error that says
    what is wrong with it (``doing``: "read", "write")."""
    try:
        yield
    except FerryError:
        raise
    except FileNotFoundError as exc:
        raise NotFoundError(f"No local file {path}.", "Check the path.") from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"{path} is a folder, not a file.", "Give a file (folders go with -r)."
        ) from exc
    except (NotADirectoryError, FileExistsError) as exc:
        raise ConfigError(
            f"Cannot {doing} {path}: a part of that path is a file, not a folder.",
            "Choose a path whose folders are folders.",
        ) from exc
    except PermissionError as exc:
        raise AccessDeniedError(
            f"Permission denied: ferry may not {doing} {path}.",
            "Check the permissions of the file and of its folders.",
        ) from exc
    except OSError as exc:
        raise LocalFileError(
            f"Could not {doing} {path}: {exc.strerror or exc}.",
            "Check the disk (free space, read-only, health) and the path.",
        ) from exc
