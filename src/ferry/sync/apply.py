"""Carry out a plan: transfers concurrently, then deletes; the state recorded as it goes.

Downloads land in a temporary file renamed into place, uploads of large files are
multipart and aborted on failure, so no half-written file is ever visible on either
side. The state is saved every few seconds and at the end: a sync killed at any point
and run again finds the finished files identical (by checksum) and does the rest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ferry.errors import FerryError
from ferry.storage.base import ObjectInfo, Store
from ferry.storage.batch import run_collect
from ferry.sync.plan import Action, LocalFile, Plan, RemoteFile, Synced
from ferry.sync.scan import CHECKSUM_KEY, checksum_file
from ferry.sync.state import SyncState, identity

__all__ = ["Report", "apply"]

_SAVE_EVERY = 5.0  # seconds
LARGE = 16 * 1024 * 1024  # files above this size move in parts (multipart, ranges)
LARGE_WORKERS = 2


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
    aborted_uploads: int = 0
    seconds: float = 0.0

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
) -> Report:
    """Run ``plan`` between ``folder`` and ``store``; fill in and return ``report``."""
    started = time.perf_counter()
    last_save = time.monotonic()

    def done(action: Action, info: ObjectInfo | Synced) -> None:
        nonlocal last_save
        if on_file is not None:
            on_file(action.size)
        if time.monotonic() - last_save > _SAVE_EVERY:
            state.save()
            last_save = time.monotonic()

    calls: dict[str, Callable[[], ObjectInfo | Synced]] = {}
    by_path = {a.path: a for a in plan.transfers}
    for action in plan.transfers:
        if action.kind == "upload":
            calls[action.path] = partial(_upload, store, folder, action.path, local[action.path])
        else:
            calls[action.path] = partial(_download, store, folder, action.path)
    # Large files already move in parallel parts: a few at a time keeps memory and the
    # server's load bounded; small files go many at a time.
    results: dict[str, ObjectInfo | Synced] = {}
    for large, limit in ((False, workers), (True, LARGE_WORKERS)):
        group = {p: c for p, c in calls.items() if (by_path[p].size > LARGE) == large}
        finished, failures = run_collect(
            group, limit, on_done=lambda path, info: done(by_path[path], info)
        )
        results.update(finished)
        report.errors += [(name, str(error)) for name, error in failures]
    for path, outcome in results.items():
        action = by_path[path]
        _record(state, folder, path, action, outcome, local)
        if action.kind == "upload":
            report.uploaded += 1
            report.uploaded_bytes += action.size
        else:
            report.downloaded += 1
            report.downloaded_bytes += action.size
        if "wins" in action.reason:
            report.resolved.append((path, action.reason))
    _delete(plan, folder, store, state, report)
    for action in plan.of("skip"):
        state.synced[action.path] = Synced(local[action.path].checksum, remote[action.path].etag)
        report.skipped += 1
    report.unresolved += [(a.path, a.reason) for a in plan.conflicts]
    state.in_progress = False
    state.save()
    report.seconds = time.perf_counter() - started
    return report


def _upload(store: Store, folder: Path, path: str, file: LocalFile) -> ObjectInfo:
    return store.put_file(path, folder / path, metadata={CHECKSUM_KEY: file.checksum})


def _download(store: Store, folder: Path, path: str) -> ObjectInfo:
    return store.get_file(path, folder / path)


def _record(
    state: SyncState,
    folder: Path,
    path: str,
    action: Action,
    outcome: ObjectInfo | Synced,
    local: dict[str, LocalFile],
) -> None:
    assert isinstance(outcome, ObjectInfo)
    if action.kind == "upload":
        state.synced[path] = Synced(local[path].checksum, outcome.etag)
        return
    target = folder / path
    digest = outcome.metadata.get(CHECKSUM_KEY) or checksum_file(target)
    state.hashes[path] = (identity(target.stat()), digest)
    state.synced[path] = Synced(digest, outcome.etag)


def _delete(plan: Plan, folder: Path, store: Store, state: SyncState, report: Report) -> None:
    remote_gone = [a.path for a in plan.of("delete-remote")]
    if remote_gone:
        try:
            store.delete(remote_gone)
        except FerryError as exc:
            report.errors.append(("(deleting in the bucket)", str(exc)))
        else:
            report.deleted_remote = len(remote_gone)
            for path in remote_gone:
                state.synced.pop(path, None)
    for action in plan.of("delete-local"):
        target = folder / action.path
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            report.errors.append((action.path, f"could not delete: {exc.strerror}"))
            continue
        _prune(target.parent, folder)
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
