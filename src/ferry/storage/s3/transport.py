"""The private interface between :class:`~ferry.storage.s3.S3Store` and what sends requests.

A *transport* sends S3 requests one way (boto3, obstore) and speaks in plain values:
keys are full keys in the bucket, answers are :class:`Meta`, :class:`Body` and
:class:`Listed`, and every failure is already a ferry error (translated by
:mod:`ferry.storage.s3.errors`, including failures while a body streams). A transport
never retries on another one: the store picks one transport for each operation when it
is built (:class:`Routes`), and what that transport answers is final.

The protocols are small, one per capability, because not every transport has each:
obstore has no batch delete, copy or multipart housekeeping, and cannot send an SSE-C
multipart upload or a create-only one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ferry.storage.s3.options import SseCKey

__all__ = [
    "Admin",
    "Body",
    "CopySource",
    "Listed",
    "Lists",
    "Meta",
    "Reads",
    "Routes",
    "Upload",
    "Writes",
]


@dataclass(frozen=True)
class Meta:
    """What S3 says about an object (``size`` is the whole object's, even for a range)."""

    size: int
    etag: str
    mtime: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)
    checksum: str | None = None


@dataclass
class Body:
    """An answer to a GET: the object's meta and its bytes (all, or the range asked for)
    as chunks, so a large range never sits whole in memory. Iterating may raise a ferry
    error when the connection breaks mid-stream."""

    meta: Meta
    chunks: Iterator[bytes | memoryview]

    def read(self) -> bytes:
        return b"".join(bytes(chunk) for chunk in self.chunks)


@dataclass(frozen=True)
class Listed:
    """One object of a listing."""

    key: str
    size: int
    etag: str
    mtime: datetime


@dataclass(frozen=True)
class CopySource:
    """The object a server-side copy reads: where it is, its size and metadata (kept on
    the copy), and the SSE-C key it is encrypted with (None: stored without SSE-C)."""

    bucket: str
    key: str
    size: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    sse_c: SseCKey | None = None


@dataclass(frozen=True)
class Upload:
    """A multipart upload begun and never finished."""

    key: str
    upload_id: str
    initiated: datetime


class Reads(Protocol):
    def get(
        self, key: str, byte_range: tuple[int, int] | None = None, if_match: str | None = None
    ) -> Body:
        """The object, or bytes ``start`` to ``end`` (exclusive) of it; ``if_match`` pins
        its ETag. Raises ``NotFoundError`` (a missing key or bucket)."""
        ...

    def head(self, key: str) -> Meta:
        """The object's meta (with its stored checksum where the transport can ask)."""
        ...


class Writes(Protocol):
    def put(
        self, key: str, data: bytes, *, create: bool, metadata: Mapping[str, str] | None
    ) -> Meta:
        """Write ``data`` in one request; ``create`` makes it conditional (If-None-Match)."""
        ...

    def put_file(
        self,
        key: str,
        path: Path,
        size: int,
        *,
        create: bool,
        metadata: Mapping[str, str] | None,
        progress: Callable[[int], None] | None = None,
    ) -> Meta:
        """Upload a file in parts (multipart, aborted if it fails: no orphan parts);
        ``progress`` is told of the bytes of each part sent."""
        ...


class Lists(Protocol):
    def list(self, prefix: str) -> Iterator[Listed]:
        """Every object below the folder ``prefix`` (empty, or ending in ``/``)."""
        ...


class Admin(Protocol):
    """What only the complete transport (boto3) does."""

    def list_level(self, prefix: str) -> tuple[list[str], list[Listed]]:
        """Sub-prefixes and objects one level below ``prefix`` (delimiter ``/``)."""
        ...

    def list_any(self, prefix: str) -> Iterator[Listed]:
        """Every object whose key starts with ``prefix`` (any string)."""
        ...

    def delete(self, keys: list[str]) -> list[tuple[str, str, str]]:
        """Delete in batches of 1,000; (key, code, message) of each key S3 refused."""
        ...

    def copy(self, source: CopySource, dest: str) -> Meta:
        """Server-side copy to ``dest`` in this bucket, written with this transport's SSE-C
        key and storage class; in parts past ``copy_threshold`` (S3's single copy stops at
        5 GiB)."""
        ...

    def uploads(self, prefix: str) -> list[Upload]:
        """Multipart uploads begun under ``prefix`` and never finished."""
        ...

    def abort(self, key: str, upload_id: str) -> None:
        """Abort one multipart upload (its parts stop being billed)."""
        ...

    def bucket_exists(self) -> bool:
        """Whether the bucket exists (asked once, to tell a missing bucket from a key)."""
        ...


@dataclass(frozen=True)
class Routes:
    """The transport of each operation, chosen once when the store is built (what only
    boto3 can do - deletes, copies, multipart housekeeping - goes to its :class:`Admin`)."""

    reads: Reads
    puts: Writes
    file_puts: Writes  # large files (multipart)
    create_file_puts: Writes  # large create-only files (conditional completion)
    lists: Lists
    names: Mapping[str, str] = field(default_factory=dict)  # operation -> transport name
