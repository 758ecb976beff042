"""Carry out a plan: transfers concurrently, then deletes; the state recorded as it goes.

Downloads land in a temporary file renamed into place, uploads of large files are
multipart and aborted on failure, so no half-written file is ever visible on either
side. The state is saved every few seconds and at the end: a sync killed at any point
and run again finds the finished files identical (by checksum) and does the rest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

from ferry.errors import EndpointError, FerryError, InterruptedTransferError, MultiError
from ferry.storage.base import Encrypted, ObjectInfo, Store, local_errors
from ferry.storage.batch import run_collect, run_many
from ferry.sync.plan import Action, LocalFile, Plan, RemoteFile, Synced
from ferry.sync.scan import CHECKSUM_KEY, checksum_bytes, checksum_file
from ferry.sync.state import FileIdentity, SyncState, identity

__all__ = ["Report", "apply"]

_SAVE_EVERY = 5.0  # seconds
# Files above this size move a few at a time: an upload is held whole in memory up to the
# store's multipart threshold, and sent in parallel parts above it; a download is one
# stream up to the store's whole-read size (32 MiB on S3), ranges in parallel above it.
LARGE = 16 * 1024 * 1024
LARGE_WORKERS = 2
LARGE_DOWNLOADS = 4


@dataclass
class Report:
    """What a sync of one mapping did."""

    mapping: str
    direction: str
    uploaded: int = 0
    uploaded_bytes: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    deleted_remote: int = 0
    deleted_local: int = 0
    skipped: int = 0
    resolved: list[tuple[str, str]] = field(default_factory=list)
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)
    encrypted: int = 0  # objects rewritten server-side with the SSE-C key
    not_encrypted: int = 0  # objects left stored without the configured SSE-C key
    aborted_uploads: int = 0
    seconds: float = 0.0
    stopped: bool = False  # a stop request ended it early: transfers not begun were skipped
    refusal: str = ""  # on a dry run: why the real run would refuse (the delete guard)

    @property
    def moved_bytes(self) -> int:
        return self.uploaded_bytes + self.downloaded_bytes


def apply(
    plan: Plan,
    *,
    folder: Path,
    store: Store,
    state: SyncState,
    local: dict[str, LocalFile],
    remote: dict[str, RemoteFile],
    report: Report,
    workers: int,
    on_file: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    record_skips: bool = True,
) -> Report:
    """Run ``plan`` between ``folder`` and ``store``; fill in and return ``report``.

    Once ``stop`` is set, transfers not yet begun are skipped, those in flight finish,
    no deletes are made, and the state records what was done.
    """
    started = time.perf_counter()
    last_save = time.monotonic()
    by_path = {a.path: a for a in plan.transfers}
    targets = _Targets(folder)

    key_id = store.encryption_id if isinstance(store, Encrypted) else ""

    def done(path: str, outcome: _Outcome) -> None:
        """Record a finished transfer at once, so a state saved mid-way includes it."""
        nonlocal last_save
        action = by_path[path]
        sse = "" if action.kind == "download" and remote[path].encrypted is False else key_id
        _record(state, path, outcome, sse)
        _count(report, action)
        if on_file is not None:
            on_file(action.size)
        if time.monotonic() - last_save > _SAVE_EVERY:
            state.save()
            last_save = time.monotonic()

    halt = _Halt(stop)
    calls: dict[str, Callable[[], _Outcome]] = {}
    for action in plan.transfers:
        call = _transfer(action, store, targets, local, remote, state)
        calls[action.path] = partial(halt.watch, call)
    for group, limit in _groups(calls, by_path, workers):
        _, failures = run_collect(group, limit, on_done=done, stop=halt)
        report.errors += [(n, str(e)) for n, e in failures if not _lost(e)]
    report.stopped = stop is not None and stop.is_set()
    if not halt.is_set():
        _delete(
            plan,
            targets,
            store,
            state,
            report,
            _unchanged_remote(plan, store, remote, workers, report),
        )
    for action in plan.of("skip"):
        there = remote[action.path]
        if record_skips:
            sse = "" if there.encrypted is False else key_id
            state.synced[action.path] = Synced(local[action.path].checksum, there.etag, sse)
        report.skipped += 1
        report.not_encrypted += there.encrypted is False
    report.unresolved += [(a.path, a.reason) for a in plan.conflicts]
    report.pending += [(a.path, a.reason) for a in plan.of("pending")]
    state.in_progress = halt.lost is not None  # a rerun checks for uploads left behind
    state.save()
    report.seconds = time.perf_counter() - started
    if halt.lost is not None:
        raise halt.lost_error(report, len(plan.transfers))
    return report


def _groups(
    calls: dict[str, Callable[[], _Outcome]], by_path: dict[str, Action], workers: int
) -> list[tuple[dict[str, Callable[[], _Outcome]], int]]:
    """The transfers in the groups they run in, each with how many run at once: small
    files many at a time; large uploads few (held in memory, or already in parallel
    parts); large downloads a few more (each up to 32 MiB is one stream: 4 keep about
    as many streams in flight as 2 files in ranges did, for a link whose limit is per
    connection)."""
    small = {p: c for p, c in calls.items() if by_path[p].size <= LARGE}
    ups = {p: c for p, c in calls.items() if p not in small and by_path[p].kind != "download"}
    downs = {p: c for p, c in calls.items() if p not in small and p not in ups}
    return [(small, workers), (ups, LARGE_WORKERS), (downs, LARGE_DOWNLOADS)]


def _lost(error: BaseException) -> bool:
    """The endpoint itself is lost (not one answer cut short)."""
    return isinstance(error, EndpointError) and not isinstance(error, InterruptedTransferError)


class _Halt:
    """Whether the transfers should stop: the caller asked, or the endpoint was lost. An
    endpoint that fails after every retry will fail the next file too: the first such
    failure stops the rest, and is reported once (not once per file)."""

    def __init__(self, stop: threading.Event | None) -> None:
        self._stop = stop
        self.lost: EndpointError | None = None

    def is_set(self) -> bool:
        return self.lost is not None or (self._stop is not None and self._stop.is_set())

    def watch(self, call: Callable[[], _Outcome]) -> _Outcome:
        try:
            return call()
        except EndpointError as exc:
            if _lost(exc):
                self.lost = self.lost or exc
            raise

    def lost_error(self, report: Report, planned: int) -> EndpointError:
        assert self.lost is not None
        moved = report.uploaded + report.downloaded + report.encrypted
        return EndpointError(
            f"{self.lost.problem} {planned - moved} of {planned} file(s) of mapping "
            f"{report.mapping!r} were not transferred ({moved} were, and are recorded).",
            self.lost.fix,
        )


def _transfer(
    action: Action,
    store: Store,
    targets: _Targets,
    local: dict[str, LocalFile],
    remote: dict[str, RemoteFile],
    state: SyncState,
) -> Callable[[], _Outcome]:
    """The call that carries out one transfer action."""
    folder = targets.root
    if action.kind == "upload":
        return partial(_upload, store, folder, action.path, local[action.path], state)
    if action.kind == "encrypt":
        return partial(_encrypt, store, folder, action.path, local[action.path], state)
    if remote[action.path].encrypted is False and isinstance(store, Encrypted):
        store = store.without_encryption()  # stored without SSE-C: read it without the key
    return partial(_download, store, targets, action.path, state, remote[action.path].size)


def _encrypt(store: Store, folder: Path, path: str, file: LocalFile, state: SyncState) -> _Outcome:
    """Rewrite the object with the key, server-side (in parts past 5 GiB)."""
    if isinstance(store, Encrypted):
        return _Outcome(store.encrypt(path), file.checksum)
    return _upload(store, folder, path, file, state)


def _count(report: Report, action: Action) -> None:
    if action.kind == "encrypt":
        report.encrypted += 1
        return
    if action.kind == "upload":
        report.uploaded += 1
        report.uploaded_bytes += action.size
    else:
        report.downloaded += 1
        report.downloaded_bytes += action.size
    if "wins" in action.reason:
        report.resolved.append((action.path, action.reason))


def inside(folder: Path, path: str) -> Path:
    """The local file of ``path``, refusing one whose folders lead elsewhere (a symlinked
    folder inside the mapping would otherwise carry a write outside it)."""
    return Path(_Targets(folder).path(path))


class _Targets:
    """The local paths of one sync's files, each folder checked once (not once per file)
    to lie inside the mapping's folder: a symlinked folder inside the mapping would
    otherwise carry a write outside it."""

    def __init__(self, folder: Path) -> None:
        self.root = folder
        self.folder = str(folder)
        self.real = os.path.realpath(folder)
        self.checked: set[str] = {""}  # relative folders known to lie inside

    def path(self, rel: str) -> str:
        parent = rel.rpartition("/")[0]
        if parent not in self.checked:
            real_parent = os.path.realpath(f"{self.folder}/{parent}")
            if os.path.commonpath([self.real, real_parent]) != self.real:
                raise FerryError(
                    f"{self.folder}/{rel} lies under a symlink that points outside {self.folder}.",
                    "ferry never writes through symlinks: remove the link, or sync elsewhere.",
                )
            self.checked.add(parent)
        return f"{self.folder}/{rel}"


def _upload(store: Store, folder: Path, path: str, file: LocalFile, state: SyncState) -> _Outcome:
    """A local file problem (gone, a folder in the way, unreadable) becomes that file's
    error, not the end of the sync. The object is tagged with the checksum the scan
    read: a file written to since then is not sent (its tag would vouch for content it
    does not hold, and another machine holding that content would take it as identical)."""
    unchanged_since_scan(folder / path, state, path)
    if file.size <= LARGE:
        # Read once, checked, and sent as read: the tag is that of the very bytes sent (a
        # write after the scan that left size and times alone, or one landing while the
        # file was read, would otherwise go out under the old checksum).
        with local_errors(folder / path, "read"):
            data = (folder / path).read_bytes()
        if checksum_bytes(data) != file.checksum:
            raise _changed_since_scan(path)
        return _Outcome(
            store.put(path, data, metadata={CHECKSUM_KEY: file.checksum}), file.checksum
        )
    with local_errors(folder / path, "read"):
        info = store.put_file(path, folder / path, metadata={CHECKSUM_KEY: file.checksum})
    if not _as_scanned(folder / path, state, path):
        raise FerryError(
            f"{path} changed while it was being sent; the bucket's copy may not match it.",
            "Run the sync again once nothing writes to it (it is sent again then).",
        )
    return _Outcome(info, file.checksum)


class _Outcome(NamedTuple):
    """A finished transfer: the object, the checksum of the content moved, and for a
    download the identity of the file it wrote, worked out by the worker that moved it.
    Outcomes are recorded one at a time: the record must not read the disk (a file
    without ferry's checksum is read whole to hash it) while every other worker waits
    to record its own."""

    info: ObjectInfo
    checksum: str
    written: FileIdentity | None = None


def _download(store: Store, targets: _Targets, path: str, state: SyncState, size: int) -> _Outcome:
    target = targets.path(path)
    unchanged_since_scan(target, state, path)
    with local_errors(target, "write"):
        info = store.get_file(path, Path(target), size=size)
    with local_errors(target, "read"):
        digest = info.metadata.get(CHECKSUM_KEY) or checksum_file(Path(target))
        return _Outcome(info, digest, identity(os.stat(target)))


def unchanged_since_scan(target: Path | str, state: SyncState, path: str) -> None:
    """Refuse to replace or delete a local file written to since the scan (a training
    process still writing its log): its new content was never compared with anything."""
    if not _as_scanned(target, state, path):
        raise _changed_since_scan(path)


def _as_scanned(target: Path | str, state: SyncState, path: str) -> bool:
    """Whether the file is as the scan saw it (size, times, inode), or gone."""
    try:
        now = identity(os.stat(target))
    except (FileNotFoundError, NotADirectoryError):  # nothing there to lose
        return True
    known = state.hashes.get(path)
    return known is not None and tuple(known[0]) == now


def _changed_since_scan(path: str) -> FerryError:
    return FerryError(
        f"{path} changed after the sync looked at it; it was left as it is.",
        "Run the sync again once nothing writes to it.",
    )


def _record(state: SyncState, path: str, outcome: _Outcome, sse: str) -> None:
    if outcome.written is not None:
        state.hashes[path] = (outcome.written, outcome.checksum)
    state.synced[path] = Synced(outcome.checksum, outcome.info.etag, sse)


def _unchanged_remote(
    plan: Plan, store: Store, remote: dict[str, RemoteFile], workers: int, report: Report
) -> list[str]:
    """The objects to delete that are still as the scan listed them. The deletes come
    after every transfer, maybe hours after the listing: an object another writer
    replaced meanwhile was never compared with anything, and is left (and reported)."""
    paths = [a.path for a in plan.of("delete-remote")]
    if not paths:
        return []
    try:
        if len(paths) > len(remote) // _PAGE + 1:
            # more keys to check than pages in one listing of the whole mapping
            listed = {i.key: i.etag for i in store.list("")}
            now = {p: listed.get(p) for p in paths}
        else:
            calls = {p: partial(_etag_now, store, p) for p in paths}
            now = run_many("Checking the bucket before deleting", calls, workers)
    except FerryError as exc:
        report.errors.append(("(deleting in the bucket)", f"nothing deleted: {exc}"))
        return []
    changed = [p for p in paths if now[p] is not None and now[p] != remote[p].etag]
    report.errors += [
        (p, "changed in the bucket after the sync looked at it; it was left as it is")
        for p in changed
    ]
    return [p for p in paths if p not in changed]


_PAGE = 1000  # keys per page of a listing


def _etag_now(store: Store, path: str) -> str | None:
    """The object's ETag as listed now (a listing needs no SSE-C key), None if gone."""
    return next((i.etag for i in store.list(path) if i.key == path), None)


def _delete(
    plan: Plan,
    targets: _Targets,
    store: Store,
    state: SyncState,
    report: Report,
    remote_gone: list[str],
) -> None:
    failed: set[str] = set()
    if remote_gone:
        try:
            store.delete(remote_gone)
        except MultiError as exc:  # some keys were refused: the rest are gone
            failed = {name for name, _ in exc.failures}
            report.errors += [(name, str(error)) for name, error in exc.failures]
        except FerryError as exc:
            failed = set(remote_gone)
            report.errors.append(("(deleting in the bucket)", str(exc)))
        for path in remote_gone:
            if path not in failed:
                state.synced.pop(path, None)
                report.deleted_remote += 1
    for action in plan.of("delete-local"):
        try:
            target = Path(targets.path(action.path))
            unchanged_since_scan(target, state, action.path)
            target.unlink(missing_ok=True)
        except (OSError, FerryError) as exc:
            report.errors.append((action.path, f"not deleted: {exc}"))
            continue
        _prune(target.parent, targets.root)
        state.synced.pop(action.path, None)
        state.hashes.pop(action.path, None)
        report.deleted_local += 1


def _prune(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = directory.parent
