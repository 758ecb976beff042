"""Moving the workspace's data with ferry's sync: pull, verify, push, and the manifest.

Every transfer goes through :func:`ferry.sync.run_workspace`, one mapping at a time so a
mapping that fails (a listing refused, the bucket unreachable) does not keep the others
from moving. On a fresh instance a push of a two-way mapping uploads what is new and
deletes nothing in the bucket; a mapping pulled first deletes only what its sync state
proves the training removed (see :mod:`ferry.sync.plan`).

The delete guard (``yes``) is lifted only where it cannot cost data:

- a pull, because the folders hold a fresh checkout: anything the mirror removes there
  (a ``.gitkeep`` in a data folder) is still in git;
- a push of a two-way mapping, because it deletes only files the state proves the run
  removed; refusing would keep the run's new files from leaving a machine about to end.

A push of a one-way (mirror) mapping keeps the guard: it never deletes objects no sync of
this instance has seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ferry.config import Settings
from ferry.errors import FerryError, MultiError
from ferry.storage import Store, open_store
from ferry.storage.base import ObjectInfo
from ferry.storage.batch import run_collect
from ferry.storage.names import parse_s3_url
from ferry.storage.s3 import S3Options
from ferry.sync import Mode, Workspace, run_workspace
from ferry.sync.scan import CHECKSUM_KEY, checksum_file, walk_files

__all__ = ["Moved", "Verified", "manifest_entries", "transfer", "verify"]

StoreOpener = Callable[[str], Store]


def store_opener(settings: Settings) -> StoreOpener:
    """Builds each mapping's store from the run's settings (SSE-C key, storage class)."""
    options = S3Options.from_settings(settings)
    return lambda url: open_store(url, s3_options=options)


@dataclass
class Moved:
    """What a pull or push moved, and what went wrong, over all its mappings."""

    files: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: bool = False
    mappings: list[str] = field(default_factory=list)
    exit_code: int = 0  # of the first error: a mapping's FerryError, or MultiError's for files

    def fail(self, message: str, exit_code: int) -> None:
        self.errors.append(message)
        self.exit_code = self.exit_code or exit_code


def transfer(
    workspace: Workspace,
    mode: Mode,
    settings: Settings,
    names: tuple[str, ...],
    *,
    stop: threading.Event | None = None,
    opener: StoreOpener | None = None,
) -> Moved:
    """Pull or push the named mappings, each on its own; errors are collected, not raised."""
    moved = Moved()
    for name in names:
        if stop is not None and stop.is_set():
            moved.stopped = True
            moved.fail(f"{name}: not {mode}ed (stopped before it began)", 1)
            continue
        try:
            result = run_workspace(
                workspace,
                mode,
                settings,
                mappings=(name,),
                yes=_lift_guard(workspace, name, mode),
                stop=stop,
                open_store=opener,
            )
        except FerryError as exc:
            moved.fail(f"{name}: {exc}", exc.exit_code)
            continue
        for outcome in result.outcomes:
            _count(moved, outcome.report, mode)
    return moved


def _lift_guard(workspace: Workspace, name: str, mode: Mode) -> bool:
    if mode == "pull":
        return True
    return all(m.direction == "both" for m in workspace.select((name,)))


def _count(moved: Moved, report: Any, mode: Mode) -> None:
    moved.mappings.append(report.mapping)
    if mode == "pull":
        moved.files += report.downloaded
        moved.bytes += report.downloaded_bytes
    else:
        moved.files += report.uploaded
        moved.bytes += report.uploaded_bytes
    for path, message in report.errors:
        where = "" if message.startswith(f"{path}:") else f"{path}: "  # sync may name it already
        moved.fail(f"{report.mapping}: {where}{message}", MultiError.exit_code)
    for path, reason in report.unresolved:
        moved.fail(f"{report.mapping}: {path}: conflict: {reason}", MultiError.exit_code)
    moved.stopped = moved.stopped or report.stopped


@dataclass
class Verified:
    """Pulled files checked against the bucket: count, bytes, those with no recorded
    checksum (checked by size only), and every mismatch."""

    files: int = 0
    bytes: int = 0
    size_only: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    workspace: Workspace, names: tuple[str, ...], opener: StoreOpener, workers: int = 16
) -> Verified:
    """Check every object of the named mappings is in its local folder, whole: same size,
    and the same XXH3-128 checksum where ferry recorded one when uploading it."""
    result = Verified()
    for mapping in workspace.select(names):
        store = opener(workspace.remote_url(mapping))
        folder = workspace.local_dir(mapping)
        try:
            objects = [i for i in store.list("") if not i.key.endswith("/")]
        except FerryError as exc:
            result.problems.append(f"{mapping.name}: could not list the bucket: {exc}")
            continue
        calls = {i.key: partial(_check, store, folder, i) for i in objects}
        checked, failures = run_collect(calls, workers)
        result.problems += [f"{mapping.name}: {key}: {error}" for key, error in failures]
        for key, outcome in checked.items():
            if outcome is None:
                continue
            if outcome == "size-only":
                result.size_only += 1
            else:
                result.problems.append(f"{mapping.name}: {key}: {outcome}")
        result.files += len(objects)
        result.bytes += sum(i.size for i in objects)
    return result


def _check(store: Store, folder: Path, info: ObjectInfo) -> str | None:
    """None if the local copy matches; "size-only" if no checksum was recorded; else why not."""
    path = folder.joinpath(*info.key.split("/"))
    try:
        size = path.stat().st_size
    except OSError:
        return "missing locally after the pull"
    if size != info.size:
        return f"local size {size} != bucket size {info.size}"
    recorded = store.head(info.key).metadata.get(CHECKSUM_KEY)
    if recorded is None:
        return "size-only"
    if _hash(path) != recorded:
        return "checksum differs from the one recorded at upload"
    return None


def _hash(path: Path) -> str:
    try:
        return checksum_file(path)
    except OSError as exc:
        raise FerryError(f"Could not read {path}: {exc.strerror}.", "Check the disk.") from exc


def manifest_entries(workspace: Workspace, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every file of the named mappings' folders that their rules send, with its full key
    in the bucket, size and checksum: what the dev machine checks is in S3 after the push."""
    entries = []
    for mapping in workspace.select(names):
        _, prefix = parse_s3_url(workspace.remote_url(mapping))
        rules = mapping.filters
        for rel, path, stat in walk_files(workspace.local_dir(mapping)):
            if rules.selects(rel):
                entries.append(
                    {
                        "mapping": mapping.name,
                        "key": f"{prefix}/{rel}" if prefix else rel,
                        "size": stat.st_size,
                        "checksum": _hash(Path(path)),
                    }
                )
    return entries
