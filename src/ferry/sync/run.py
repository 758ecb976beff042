"""One sync of one mapping: lock, scan both sides, plan, check the deletes, apply.

``push`` and ``pull`` mirror in one direction (with deletes: the seed's full sync);
``sync`` follows each mapping's own direction, both ways where it says ``both``. A
pull-only mapping is never pushed (the bucket is its source of truth).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ferry.errors import ConfigError
from ferry.storage.base import Store
from ferry.sync.apply import Report, apply
from ferry.sync.plan import Plan, plan
from ferry.sync.scan import scan_local, scan_remote
from ferry.sync.state import SyncState
from ferry.sync.workspace import Mapping, Workspace

__all__ = ["Mode", "Outcome", "direction_for", "run_mapping", "workspace_lock"]

Mode = Literal["push", "pull", "sync"]
SMALL_DELETE = 10  # deleting up to this many files never needs --yes


@dataclass
class Outcome:
    """A mapping's plan and, unless it was a dry run or skipped, what applying it did."""

    mapping: Mapping
    direction: str | None
    plan: Plan
    report: Report


def direction_for(mapping: Mapping, mode: Mode) -> Literal["push", "pull", "both"] | None:
    """What ``mode`` means for ``mapping``; None when the mapping must not go that way."""
    if mode == "sync":
        return mapping.direction
    if mode == "push":
        return "push" if mapping.direction in ("push", "both") else None
    return "pull" if mapping.direction in ("pull", "both") else None


@contextmanager
def workspace_lock(workspace: Workspace) -> Iterator[None]:
    """One sync at a time per workspace (a second one is refused, not queued)."""
    folder = workspace.state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"Another ferry sync is running in {workspace.root}.",
                "Wait for it to finish (only one process syncs a workspace at a time).",
            ) from None
        yield


def run_mapping(
    workspace: Workspace,
    mapping: Mapping,
    mode: Mode,
    store: Store,
    *,
    dry_run: bool = False,
    yes: bool = False,
    delete_threshold: float = 0.5,
    workers: int = 32,
    on_plan: Callable[[Plan], None] | None = None,
    on_file: Callable[[int], None] | None = None,
) -> Outcome:
    """Sync one mapping. Raises before changing anything if a listing fails or the plan
    would delete too much without ``yes``."""
    direction = direction_for(mapping, mode)
    report = Report(mapping.name, direction or f"skipped ({mapping.direction}-only)")
    if direction is None:
        return Outcome(mapping, None, Plan(), report)
    folder = workspace.local_dir(mapping)
    _check_folder(folder, mapping, direction)
    origin = f"{folder.resolve()} <-> {workspace.remote_url(mapping)}"
    state = SyncState.load(workspace.state_dir() / f"{mapping.name}.json", origin)
    local = scan_local(folder, state, clean_temp=not dry_run)
    report.symlinks = local.symlinks
    remote = scan_remote(store, local.files, state, workers)
    for path in set(state.synced) - set(local.files) - set(remote):
        del state.synced[path]  # gone from both sides: nothing left to remember
    the_plan = plan(
        local.files, remote, state.synced, direction=direction, conflict=mapping.conflict
    )
    _check_deletes(the_plan, mapping, len(local.files), len(remote), delete_threshold, yes)
    if on_plan is not None:
        on_plan(the_plan)
    if dry_run:
        return Outcome(mapping, direction, the_plan, report)
    abort = getattr(store, "abort_incomplete_uploads", None)
    if abort is not None and state.in_progress:  # the last run died: clear its leftovers
        report.aborted_uploads = abort("", since=datetime.fromtimestamp(state.since, UTC))
    state.in_progress, state.since = True, time.time()
    state.save()
    apply(
        the_plan,
        folder=folder,
        store=store,
        state=state,
        local=local.files,
        remote=remote,
        report=report,
        workers=workers,
        on_file=on_file,
    )
    return Outcome(mapping, direction, the_plan, report)


def _check_folder(folder: Path, mapping: Mapping, direction: str) -> None:
    if folder.is_dir():
        return
    if direction == "pull":
        folder.mkdir(parents=True)
        return
    raise ConfigError(
        f"The local folder of mapping {mapping.name!r} ({folder}) does not exist; syncing "
        "it would empty the bucket prefix.",
        f"Create it (mkdir -p {folder}), or pull first: ferry pull {mapping.name}",
    )


def _check_deletes(
    the_plan: Plan,
    mapping: Mapping,
    local_count: int,
    remote_count: int,
    threshold: float,
    yes: bool,
) -> None:
    for kind, side, total in (
        ("delete-remote", "the bucket", remote_count),
        ("delete-local", "the local folder", local_count),
    ):
        count = len(the_plan.of(kind))  # type: ignore[arg-type]
        if count > SMALL_DELETE and count > threshold * total and not yes:
            raise ConfigError(
                f"Syncing {mapping.name!r} would delete {count} of the {total} files in {side}.",
                "Check with --dry-run, then run again with --yes if that is what you want.",
            )
