"""Both sides of a mapping as listings: local files (hashed only when they changed) and
remote objects (with ferry's recorded checksum fetched only where it decides something)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ferry.errors import ConfigError, EncryptionError, FerryError, NotEncryptedError
from ferry.storage.base import Encrypted, ObjectInfo, Store, check_key, local_errors
from ferry.storage.batch import run_many
from ferry.sync.plan import LocalFile, RemoteFile, Synced
from ferry.sync.state import SyncState, identity

__all__ = [
    "CHECKSUM_KEY",
    "LocalScan",
    "RemoteListing",
    "RemoteScan",
    "checksum_bytes",
    "checksum_file",
    "scan_local",
    "scan_remote",
    "unusable_key",
    "walk_files",
]

_TEMP = re.compile(r"^\..+\.ferry-tmp-[0-9a-f]{12}$")  # ferry's temporary files
CHECKSUM_KEY = "ferry-xxh3-128"  # user metadata ferry writes on every upload
_CHUNK = 4 * 1024 * 1024


def checksum_file(path: Path) -> str:
    """The file's XXH3-128 digest: content-exact change detection (a 128-bit digest makes
    an accidental collision negligible) at ~4 GB/s, ten times SHA-256's speed here, so
    checking a large dataset costs little more than reading it."""
    import xxhash

    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return str(digest.hexdigest())


def checksum_bytes(data: bytes) -> str:
    """:func:`checksum_file` of a file holding ``data``."""
    import xxhash

    return str(xxhash.xxh3_128_hexdigest(data))


class LocalScan:
    """The regular files below a folder, the symlinks set aside, how many were read."""

    def __init__(self) -> None:
        self.files: dict[str, LocalFile] = {}
        self.symlinks: list[str] = []
        self.hashed = 0


def scan_local(
    folder: Path, state: SyncState, workers: int = 4, *, clean_temp: bool = False
) -> LocalScan:
    """Every regular file below ``folder``. Symlinks are never followed nor sent (they are
    listed in ``symlinks``); temporary files left by a killed download are removed."""
    scan = LocalScan()
    to_hash: dict[str, tuple[str, os.stat_result]] = {}
    for rel, path, stat in _walk(str(folder), "", scan.symlinks, clean_temp):
        cached = state.cached_hash(rel, identity(stat))
        if cached is None:
            to_hash[rel] = (path, stat)
        else:
            scan.files[rel] = _local(stat, cached)
    calls = {rel: partial(_hash, Path(path)) for rel, (path, _) in to_hash.items()}
    for rel, digest in run_many(f"Reading {folder}", calls, workers).items():
        stat = to_hash[rel][1]
        scan.files[rel] = _local(stat, digest)
        state.hashes[rel] = (identity(stat), digest)
    scan.hashed = len(to_hash)
    for rel in set(state.hashes) - set(scan.files):
        del state.hashes[rel]
    return scan


def walk_files(folder: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, path, stat) of the regular files below ``folder`` as a sync sees
    them: no symlinks, no temporary files of a download (left where they are)."""
    return _walk(os.fspath(folder), "", [], clean_temp=False)


def _walk(
    folder: str, prefix: str, symlinks: list[str], clean_temp: bool
) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, path, stat) of every regular file, with strings, not pathlib: a
    no-op sync of thousands of files is mostly this walk. ``clean_temp`` removes the
    temporary files of a killed download (only a real run, which holds the workspace lock,
    may: a dry run could otherwise remove a running sync's file)."""
    with local_errors(folder, "read"):  # never skipped: a mirror would delete its files
        entries = list(os.scandir(folder))
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if entry.is_symlink():
            symlinks.append(rel)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, f"{rel}/", symlinks, clean_temp)
        elif _TEMP.match(entry.name):
            if clean_temp:
                os.unlink(entry.path)
        elif entry.is_file(follow_symlinks=False):
            yield rel, entry.path, entry.stat(follow_symlinks=False)


def _hash(path: Path) -> str:
    try:
        return checksum_file(path)
    except OSError as exc:
        raise FerryError(
            f"Could not read {path}: {exc.strerror}.", "Check its permissions."
        ) from exc


def _local(stat: os.stat_result, digest: str) -> LocalFile:
    return LocalFile(stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC), digest)


class RemoteScan:
    """The objects a sync can use, and those it cannot (each with the reason)."""

    def __init__(self) -> None:
        self.files: dict[str, RemoteFile] = {}
        self.unusable: list[tuple[str, str]] = []


class RemoteListing:
    """Every object below the store's root, listed by a thread of its own from the moment
    this is made (so that the listing's round trips overlap the walk of the folder)."""

    def __init__(self, store: Store) -> None:
        self._objects: list[ObjectInfo] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._list, args=(store,), daemon=True)
        self._thread.start()

    def _list(self, store: Store) -> None:
        try:
            self._objects = list(store.list(""))
        except BaseException as exc:  # raised again, in the caller's thread, by result()
            self._error = exc

    def result(self) -> list[ObjectInfo]:
        """The listing; what listing raised, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._objects


def scan_remote(
    store: Store,
    local: dict[str, LocalFile],
    state: SyncState,
    workers: int,
    listing: Iterable[ObjectInfo] | None = None,
) -> RemoteScan:
    """Every object below the store's root. A listing that fails raises (so nothing is ever
    deleted because of a missing listing). An object whose key cannot be a local file name
    is set aside with the reason. Where a path exists on both sides with the same size and
    the state cannot vouch for it, the object's recorded checksum is fetched.

    With an SSE-C key configured, each object the state cannot vouch was written with it
    is asked about once (a HEAD with the key): it is encrypted with it, stored without
    SSE-C (``encrypted=False``: the plan rewrites it), or under another key (set aside).

    ``listing``: the store's objects, when already listed (see :class:`RemoteListing`)."""
    scan = RemoteScan()
    remote = scan.files
    for info in listing if listing is not None else store.list(""):
        if info.key.endswith("/") and info.size == 0:
            continue  # a "folder" marker (S3 console's Create folder): not a file
        reason = unusable_key(info.key)
        if reason:
            scan.unusable.append((info.key, reason))
            continue
        remote[info.key] = RemoteFile(info.size, info.mtime, info.etag)
    for folder_too in _files_that_are_folders(remote):
        del remote[folder_too]
        scan.unusable.append((folder_too, "a file and a folder of the same name (keys below it)"))
    if isinstance(store, Encrypted) and store.encryption_id:
        _probe_encryption(store, scan, local, state, store.encryption_id, workers)
        return scan
    unsure = [
        path
        for path, r in remote.items()
        if path in local and local[path].size == r.size and not _vouched(state.synced.get(path), r)
    ]
    calls: dict[str, Callable[[], str | None]] = {
        p: partial(_recorded_checksum, store, p) for p in unsure
    }
    for path, digest in run_many("Reading checksums", calls, workers).items():
        r = remote[path]
        remote[path] = RemoteFile(r.size, r.mtime, r.etag, digest)
    return scan


def _probe_encryption(
    store: Encrypted,
    scan: RemoteScan,
    local: dict[str, LocalFile],
    state: SyncState,
    key_id: str,
    workers: int,
) -> None:
    remote = scan.files
    unsure = [p for p, r in remote.items() if not _vouched(state.synced.get(p), r, key_id)]
    calls = {p: partial(_encryption_of, store, p, p in local) for p in unsure}
    for path, (encrypted, digest, why) in run_many("Reading objects", calls, workers).items():
        r = remote[path]
        if why:
            del remote[path]
            scan.unusable.append((path, why))
        else:
            remote[path] = RemoteFile(r.size, r.mtime, r.etag, digest, encrypted)
    for path in set(remote) - set(unsure):  # vouched: written with this key
        r = remote[path]
        remote[path] = RemoteFile(r.size, r.mtime, r.etag, None, True)


def _encryption_of(
    store: Encrypted, path: str, compared: bool
) -> tuple[bool, str | None, str | None]:
    """(encrypted with the key, ferry's recorded checksum, why it cannot be used)."""
    try:
        return True, store.head(path).metadata.get(CHECKSUM_KEY), None
    except NotEncryptedError:
        if not compared:
            return False, None, None
        return False, store.without_encryption().head(path).metadata.get(CHECKSUM_KEY), None
    except EncryptionError as exc:
        return False, None, exc.problem


_NAME_MAX = 255  # bytes in one file name, on Linux and macOS file systems


# Keys that are plainly usable: short, of letters, digits and '-_.' parts, none empty nor
# starting with '.' (so none is '.' or '..'). Most keys are; the others are checked in full.
_PLAIN_KEY = re.compile(r"[\w\-][\w\-.]*(?:/[\w\-][\w\-.]*)*", re.ASCII)


def unusable_key(key: str) -> str | None:
    """Why ``key`` cannot be a file inside the local folder, or None if it can."""
    if len(key) <= _NAME_MAX and _PLAIN_KEY.fullmatch(key):
        return None
    try:
        check_key(key)
    except ConfigError as exc:
        return str(exc.problem).replace(f"Key {key!r} ", "")
    if any(len(part.encode()) > _NAME_MAX for part in key.split("/")):
        return f"a part of it is longer than {_NAME_MAX} bytes, the limit of a file name"
    return None


def _files_that_are_folders(remote: dict[str, RemoteFile]) -> list[str]:
    """Keys that also name a folder (``a`` beside ``a/b``): both cannot exist on disk."""
    folders = {key.rsplit("/", 1)[0] for key in remote if "/" in key}
    parents = {"/".join(f.split("/")[: i + 1]) for f in folders for i in range(f.count("/") + 1)}
    return sorted(k for k in remote if k in parents)


def _vouched(synced: Synced | None, r: RemoteFile, key_id: str | None = None) -> bool:
    """The state saw this very object (same ETag), and (when asked) wrote it with the key."""
    if synced is None or synced.etag != r.etag:
        return False
    return key_id is None or synced.sse == key_id


def _recorded_checksum(store: Store, path: str) -> str | None:
    return store.head(path).metadata.get(CHECKSUM_KEY)
