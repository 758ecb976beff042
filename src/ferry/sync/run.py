"""The sync engine: a workspace's mappings, each locked, scanned, planned, checked, applied.

:func:`run_workspace` is the one entry point (the CLI, ``Rubicon.sync`` and the runs
executor all call it): it takes the workspace lock, builds each mapping's store from the
settings, and runs :func:`run_mapping` for each mapping in turn.

``push`` and ``pull`` move changes one way; ``sync`` follows each mapping's own direction,
both ways where it says ``both``. A one-way mapping is mirrored in its own direction
(the bucket is a pull-only dataset's source of truth) and never moved the other way. A
two-way mapping deletes only what its last state proves was synced and then deleted on
the other side (see :mod:`ferry.sync.plan`).
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from collections.abc import Mapping as MappingType
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from ferry.errors import ConfigError, NotFoundError
from ferry.storage.base import AbortsUploads, Store
from ferry.storage.filters import Filters
from ferry.storage.transfer import EVERYTHING
from ferry.sync.apply import Report, apply
from ferry.sync.plan import Action, Plan, plan
from ferry.sync.scan import RemoteListing, scan_local, scan_remote
from ferry.sync.state import SyncState
from ferry.sync.workspace import Mapping, Workspace

if TYPE_CHECKING:
    from ferry.config import Settings

__all__ = [
    "Mode",
    "Outcome",
    "Progress",
    "WorkspaceResult",
    "direction_for",
    "run_mapping",
    "run_workspace",
    "sync_folder",
    "workspace_lock",
]

Mode = Literal["push", "pull", "sync"]
SMALL_DELETE = 10  # deleting up to this many files never needs --yes (if the state knew them)
MULTIPART_MIN = 5 * 1024 * 1024  # below S3's smallest part, no upload is multipart
PlanHook: TypeAlias = Callable[[Plan], None]
FileHook: TypeAlias = Callable[[int], None]
# Called with a mapping's name; the context it returns spans that mapping's sync and gives
# the hooks told of its plan and of each finished file (either may be None).
Progress: TypeAlias = Callable[
    [str], AbstractContextManager[tuple[PlanHook | None, FileHook | None]]
]


@dataclass
class Outcome:
    """A mapping's plan and, unless it was a dry run or skipped, what applying it did."""

    mapping: Mapping
    direction: str | None
    plan: Plan
    report: Report


@dataclass
class WorkspaceResult:
    """Each mapping's outcome, in the order they ran."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        """(mapping, path, message) of every file that failed."""
        return [(o.mapping.name, p, m) for o in self.outcomes for p, m in o.report.errors]

    @property
    def unresolved(self) -> list[tuple[str, str, str]]:
        """(mapping, path, reason) of every conflict left for the user."""
        return [(o.mapping.name, p, r) for o in self.outcomes for p, r in o.report.unresolved]

    @property
    def stopped(self) -> bool:
        """Whether a stop request ended the sync before it was complete."""
        return any(o.report.stopped for o in self.outcomes)


def run_workspace(
    workspace: Workspace,
    mode: Mode,
    settings: Settings,
    *,
    mappings: tuple[str, ...] = (),
    dry_run: bool = False,
    yes: bool = False,
    delete_threshold: float = 0.5,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    open_store: Callable[[str], Store] | None = None,
    size_only: bool = False,
    filters: Filters = EVERYTHING,
) -> WorkspaceResult:
    """Sync the workspace's mappings (those named, or all) under its lock.

    Args:
        workspace: the folders and prefixes, from :func:`ferry.sync.find_workspace` or built
            in code.
        mode: ``push``, ``pull``, or ``sync`` (each mapping its own way).
        settings: where S3 is and how to talk to it (SSE-C key, storage class, ...).
        mappings: names of the mappings to sync; all when empty.
        dry_run: plan only; change nothing (takes no lock).
        yes: allow the deletes the guard would otherwise refuse.
        delete_threshold: fraction of a side's files a mapping may delete without ``yes``.
        progress: display hooks per mapping (see :data:`Progress`).
        stop: when set, the sync ends gracefully: transfers in flight finish, no new one
            starts, no delete is made, the state is saved, later mappings are skipped.
        open_store: builds a mapping's store from its URL (default: ``open_store`` with
            these settings' S3 options, built once).
        size_only: the same size is taken as the same content (no checksums compared).
        filters: ``--exclude``/``--include`` rules applied after each mapping's own.

    Raises:
        ConfigError: another sync holds the lock, a folder is missing, or the delete guard
            refused; nothing of that mapping was changed.
    """
    if open_store is None:
        open_store = _store_opener(settings)
    result = WorkspaceResult()
    lock: AbstractContextManager[None] = nullcontext() if dry_run else workspace_lock(workspace)
    with lock:
        for mapping in workspace.select(mappings):
            if stop is not None and stop.is_set():
                break
            hooks = progress(mapping.name) if progress else nullcontext((None, None))
            with hooks as (on_plan, on_file):
                result.outcomes.append(
                    run_mapping(
                        workspace,
                        mapping,
                        mode,
                        open_store(workspace.remote_url(mapping)),
                        dry_run=dry_run,
                        yes=yes,
                        delete_threshold=delete_threshold,
                        workers=settings.concurrency,
                        on_plan=on_plan,
                        on_file=on_file,
                        stop=stop,
                        size_only=size_only,
                        filters=filters,
                    )
                )
    return result


def _store_opener(settings: Settings) -> Callable[[str], Store]:
    from ferry.storage import open_store
    from ferry.storage.s3 import S3Options

    options = S3Options.from_settings(settings)
    return lambda url: open_store(url, s3_options=options)


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
    on_plan: PlanHook | None = None,
    on_file: FileHook | None = None,
    stop: threading.Event | None = None,
    deletes: bool = True,
    size_only: bool = False,
    filters: Filters = EVERYTHING,
) -> Outcome:
    """Sync one mapping of a workspace (see :func:`sync_folder`)."""
    folder = workspace.local_dir(mapping)
    return sync_folder(
        folder,
        store,
        mapping,
        mode,
        state_path=workspace.state_dir() / f"{mapping.name}.json",
        origin=f"{folder.resolve()} <-> {workspace.remote_url(mapping)}",
        dry_run=dry_run,
        yes=yes,
        delete_threshold=delete_threshold,
        workers=workers,
        on_plan=on_plan,
        on_file=on_file,
        stop=stop,
        deletes=deletes,
        size_only=size_only,
        filters=filters,
    )


def sync_folder(
    folder: Path,
    store: Store,
    mapping: Mapping,
    mode: Mode,
    *,
    state_path: Path,
    origin: str,
    dry_run: bool = False,
    yes: bool = False,
    delete_threshold: float = 0.5,
    workers: int = 32,
    on_plan: PlanHook | None = None,
    on_file: FileHook | None = None,
    stop: threading.Event | None = None,
    deletes: bool | Literal["asked"] = True,
    size_only: bool = False,
    filters: Filters = EVERYTHING,
    source_must_exist: bool = False,
) -> Outcome:
    """Sync ``folder`` with ``store`` as ``mapping`` says: scan both sides, plan, check the
    deletes, apply. Raises before changing anything if a listing fails or the plan would
    delete too much, or anything the last state never saw, without ``yes``.

    Args:
        state_path: where this pair's sync state lives; ``origin`` names the pair (a state
            that names another pair is not trusted).
        deletes: False plans no delete at all (``ferry sync SRC DST`` without ``--delete``);
            ``"asked"`` (with ``--delete``) takes the user's word for files no sync has seen,
            though not for more than ``delete_threshold`` of a side.
        size_only: same size means same content (no checksums compared).
        filters: ``--exclude``/``--include`` rules, added after the mapping's own.
        source_must_exist: a pull from a prefix with nothing below it raises
            :class:`NotFoundError` (``ferry sync SRC DST``: a mistyped source must not
            empty the folder).
    """
    direction = direction_for(mapping, mode)
    report = Report(mapping.name, direction or f"skipped ({mapping.direction}-only)")
    if direction is None:
        return Outcome(mapping, None, Plan(), report)
    made = _first_missing(folder)
    _check_folder(folder, mapping, direction)
    listing = RemoteListing(store)  # the bucket is listed while the folder is walked
    state = SyncState.load(state_path, origin)
    if state.note:
        report.errors.append(("(sync state)", state.note))
    local = scan_local(folder, state, clean_temp=not dry_run)
    report.symlinks = local.symlinks
    scanned = scan_remote(store, local.files, state, workers, listing.result())
    remote = scanned.files
    if source_must_exist and direction == "pull" and not remote and not scanned.unusable:
        _unmake(folder, made)  # the destination folder this pull made, still empty
        raise NotFoundError(
            f"Nothing at {store.url}/ (the source).",
            "Check the bucket and prefix (ferry ls); nothing was changed.",
        )
    report.errors += [(key, f"skipped: {why}") for key, why in scanned.unusable]
    # Set aside: neither side of such a path may be touched (its object is there, only
    # unusable: it must not look deleted), and its state is kept.
    untouchable = {key for key, _ in scanned.unusable}
    for path in set(state.synced) - set(local.files) - set(remote) - untouchable:
        del state.synced[path]  # gone from both sides: nothing left to remember
    rules = Filters(mapping.filters.rules + filters.rules)
    chosen_local = {
        p: f for p, f in local.files.items() if p not in untouchable and rules.selects(p)
    }
    chosen_remote = {p: f for p, f in remote.items() if rules.selects(p)}
    the_plan = plan(
        chosen_local,
        chosen_remote,
        state.synced,
        direction=direction,
        conflict=mapping.conflict,
        mirror=mapping.direction != "both",
        size_only=size_only,
    )
    if not deletes:
        the_plan = _without_deletes(the_plan)
    if not yes:
        seen = state.synced if deletes != "asked" else None
        counts = (len(chosen_local), len(chosen_remote))
        try:
            _check_deletes(the_plan, mapping, seen, *counts, delete_threshold)
        except ConfigError as refused:
            if not dry_run:
                raise
            report.refusal = refused.problem  # a dry run shows the plan, and the refusal
    if on_plan is not None:
        on_plan(the_plan)
    if dry_run:
        return Outcome(mapping, direction, the_plan, report)
    if isinstance(store, AbortsUploads) and state.in_progress and state.large_uploads:
        # The last run died: abort the multipart uploads it began, and no one else's.
        since = datetime.fromtimestamp(state.since, UTC)
        report.aborted_uploads = store.abort_incomplete_uploads(
            "", since=since, only=state.large_uploads
        )
    state.large_uploads = [a.path for a in the_plan.of("upload") if a.size > MULTIPART_MIN]
    if the_plan.transfers or the_plan.of("delete-remote", "delete-local"):
        # Marked in progress (durably) before anything moves; a run with nothing to move
        # or delete cannot leave anything half done, and writes nothing here.
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
        stop=stop,
        record_skips=not size_only,  # a size seen equal is not a content known equal
    )
    return Outcome(mapping, direction, the_plan, report)


def _without_deletes(the_plan: Plan) -> Plan:
    """The plan with its deletes left undone (said, not done)."""
    kept = [
        Action(a.path, "pending", "kept: not in the source (no --delete)")
        if a.kind in ("delete-local", "delete-remote")
        else a
        for a in the_plan.actions
    ]
    return Plan(kept)


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists():
            return missing
        missing = path
    return missing


def _unmake(folder: Path, made: Path | None) -> None:
    """Remove the empty folders from ``folder`` up to ``made`` (those this run made)."""
    if made is None:
        return
    for path in (folder, *folder.parents):
        try:
            path.rmdir()
        except OSError:
            return
        if path == made:
            return


def _check_folder(folder: Path, mapping: Mapping, direction: str) -> None:
    if folder.is_dir():
        return
    if folder.exists():
        raise ConfigError(
            f"The local folder of mapping {mapping.name!r} ({folder}) is a file.",
            "Sync with a folder: move the file away, or give another path.",
        )
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
    seen: MappingType[str, object] | None,
    local_count: int,
    remote_count: int,
    threshold: float,
) -> None:
    """Refuse, before anything changes, deletes the user may not mean: more than
    ``threshold`` of a side (and more than a few files), or any file the last sync of this
    mapping never saw (a mirror would otherwise remove files nobody synced)."""
    for kind, side, total in (
        ("delete-remote", "the bucket", remote_count),
        ("delete-local", "the local folder", local_count),
    ):
        paths = [a.path for a in the_plan.of(kind)]  # type: ignore[arg-type]
        unseen = [p for p in paths if seen is not None and p not in seen]
        if unseen:
            shown = ", ".join(unseen[:3]) + (
                f" and {len(unseen) - 3} more" if len(unseen) > 3 else ""
            )
            raise ConfigError(
                f"Syncing {mapping.name!r} would delete {len(unseen)} file(s) in {side} that "
                f"no earlier sync of it has seen ({shown}).",
                "Check with --dry-run, then run again with --yes if they should go.",
            )
        if len(paths) > SMALL_DELETE and len(paths) > threshold * total:
            raise ConfigError(
                f"Syncing {mapping.name!r} would delete {len(paths)} of the {total} files in "
                f"{side}.",
                "Check with --dry-run, then run again with --yes if that is what you want.",
            )
