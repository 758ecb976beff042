"""A store in a local folder: keys are relative paths below the root.

Writes go to a temporary file beside the target and are renamed into place, so a reader
(or a crash) never sees half a file. User metadata, when given, is kept in a sidecar JSON
file under ``<root>/.ferry/meta/``; the ``.ferry`` folder and temporary files are never
listed. The ETag is derived from size and modification time, so it changes on every write.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from ferry.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    FerryError,
    NotFoundError,
)
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

__all__ = ["LocalStore", "counted", "temp_file_name", "temp_path", "write_atomically"]

_META_DIR = ".ferry"
_TMP_MARK = ".ferry-tmp-"
_COPY_CHUNK = 1024 * 1024


def _temp_name(name: str) -> str:
    return f".{name}{_TMP_MARK}{os.urandom(6).hex()}"


def temp_path(path: Path) -> Path:
    """A hidden temporary name beside ``path``, never listed by a store."""
    return path.with_name(_temp_name(path.name))


def temp_file_name(path: str) -> str:
    """:func:`temp_path` of a path given as a string (no ``Path`` on a hot path)."""
    head, name = os.path.split(path)
    return os.path.join(head, _temp_name(name))


def write_atomically(
    path: Path | str,
    chunks: Iterable[bytes],
    *,
    mode: PutMode = "overwrite",
    durable: bool = False,
) -> None:
    """Write ``chunks`` to ``path`` through a temporary file renamed into place.

    With ``mode="create"`` the file is linked into place, which fails if ``path`` exists.
    Parent folders are created when missing (tried after the first attempt fails, so a
    write into an existing folder costs no extra system calls). ``durable`` flushes the
    file to the disk before the rename, so a power cut leaves the old or the new file,
    never an empty one (for small files that must survive: a sync state).
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    temp = os.path.join(folder, _temp_name(name))
    try:
        handle = open(temp, "wb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        handle = open(temp, "wb")  # noqa: SIM115
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode == "create":
            os.link(temp, path)
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _reading(handle: IO[bytes], path: Path) -> Iterator[bytes]:
    """The file's chunks, a failed read of it translated (not blamed on the store)."""
    with local_errors(path, "read"):
        yield from copy_chunks(handle)


def counted(chunks: Iterable[bytes], progress: Progress | None) -> Iterator[bytes]:
    """``chunks``, each one's size told to ``progress``."""
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress(len(chunk))


def copy_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """Read ``handle`` in fixed-size chunks (constant memory)."""
    while chunk := handle.read(_COPY_CHUNK):
        yield chunk


class LocalStore(BaseStore):
    """Objects as files below ``root`` (created on first write)."""

    # Small reads from a local disk are faster one after another than through a pool.
    concurrency = 1

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self._root = str(self.root)

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def path_of(self, key: str) -> Path:
        """The file that holds ``key``."""
        return self._path(key)

    def _file(self, key: str) -> str:
        """The file of ``key`` as a string (cheaper than pathlib on hot paths)."""
        return os.path.join(self._root, *check_key(key).split("/"))

    @property
    def _meta_root(self) -> Path:
        return self.root / _META_DIR / "meta"

    def _meta_path(self, key: str) -> Path:
        return self.root.joinpath(_META_DIR, "meta", *key.split("/")).with_suffix(".json")

    def _missing(self, key: str) -> NotFoundError:
        return NotFoundError(f"No file at {self._path(key)}.", "Check the key or the root folder.")

    def _info(self, key: str, stat: os.stat_result, *, with_metadata: bool = True) -> ObjectInfo:
        metadata = self._metadata(key) if with_metadata else {}
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=f"{stat.st_size:x}-{stat.st_mtime_ns:x}",
            mtime=datetime.fromtimestamp(stat.st_mtime, UTC),
            metadata=metadata,
        )

    def _metadata(self, key: str) -> dict[str, str]:
        try:
            return dict(json.loads(self._meta_path(key).read_text()))
        except (FileNotFoundError, NotADirectoryError):
            return {}

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(key) from None
        if not path.is_file():
            raise self._missing(key)
        return self._info(key, stat)

    def get(self, key: str) -> bytes:
        try:
            with open(self._file(key), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._missing(key) from None

    def get_object(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                data = handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._missing(key) from None
        return StoredObject(data, self._info(key, stat))

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        source = self._path(key)
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._missing(key) from None
        with handle, local_errors(path, "write"):
            write_atomically(Path(path), counted(copy_chunks(handle), progress))
        return self.head(key)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        return self._write(key, [check_data(data)], mode, metadata)

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
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        with handle:
            return self._write(key, counted(_reading(handle, path), progress), mode, metadata)

    def _write(
        self,
        key: str,
        chunks: Iterable[bytes],
        mode: PutMode,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        target = self._file(key)
        try:
            write_atomically(target, chunks, mode=mode)
        except FileExistsError:
            raise AlreadyExistsError(
                f"A file already exists at {target}.",
                "Choose another key, or write with mode='overwrite'.",
            ) from None
        except PermissionError as exc:
            raise AccessDeniedError(
                f"No permission to write {target}: {exc.strerror}.",
                "Check the folder's owner and permissions.",
            ) from exc
        except OSError as exc:
            raise FerryError(
                f"Could not write {target}: {exc.strerror or exc}.",
                "Check the root folder exists as a folder and the disk has room.",
            ) from exc
        if metadata:
            write_atomically(self._meta_path(key), [json.dumps(dict(metadata)).encode()])
        elif mode == "overwrite" and self._meta_root.exists():
            self._meta_path(key).unlink(missing_ok=True)  # drop the replaced version's
        stat = os.stat(target)
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=f"{stat.st_size:x}-{stat.st_mtime_ns:x}",
            mtime=datetime.fromtimestamp(stat.st_mtime, UTC),
            metadata=dict(metadata or {}),
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Start the walk at the deepest folder the prefix names, then filter by the rest.
        folder_key = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = os.path.join(self._root, *folder_key.split("/")) if folder_key else self._root
        found = []
        for key, stat in self._walk(start, folder_key):
            if key.startswith(prefix):
                found.append((key, stat))
        # Like an S3 listing, a listing carries no user metadata (head() has it).
        for key, stat in sorted(found, key=lambda item: item[0]):
            yield self._info(key, stat, with_metadata=False)

    def _walk(self, folder: str, key_prefix: str) -> Iterator[tuple[str, os.stat_result]]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if _TMP_MARK in entry.name or (not key_prefix and entry.name == _META_DIR):
                continue
            key = f"{key_prefix}/{entry.name}" if key_prefix else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(entry.path, key)
            elif entry.is_file():
                yield key, entry.stat()

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)
            self._prune(self._path(key).parent)

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty by a delete, up to (not including) the root."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent
