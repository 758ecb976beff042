"""``ferry sync SRC DST``: one folder or prefix made like another, without a workspace.

The form ``aws s3 sync`` users type. Local to S3 and S3 to local run through the same
engine as a workspace mapping (content-exact by default, a state per pair kept in the
user's state folder, downloads that appear whole, multipart uploads aborted after a
crash); S3 to S3 copies server-side. Nothing is deleted without ``delete=True``, and even
then the delete guard refuses to empty more than half the destination without ``yes``.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.errors import ConfigError, NotFoundError
from ferry.storage.base import ObjectInfo, Store
from ferry.storage.batch import run_collect
from ferry.storage.filters import Filters
from ferry.storage.transfer import EVERYTHING, copy_object, selected, tree_keys
from ferry.sync.apply import Report
from ferry.sync.plan import Action, Plan
from ferry.sync.run import SMALL_DELETE, FileHook, Outcome, PlanHook, sync_folder
from ferry.sync.workspace import Mapping

if TYPE_CHECKING:
    from ferry.config import Settings

__all__ = ["plan_copies", "sync_paths", "sync_stores"]


def sync_paths(
    source: str,
    dest: str,
    settings: Settings,
    *,
    delete: bool = False,
    dry_run: bool = False,
    yes: bool = False,
    delete_threshold: float = 0.5,
    size_only: bool = False,
    filters: Filters = EVERYTHING,
    on_plan: PlanHook | None = None,
    on_file: FileHook | None = None,
    stop: threading.Event | None = None,
    state_root: Path | None = None,
) -> Outcome:
    """Make ``dest`` hold what ``source`` holds (a local folder or an ``s3://`` prefix).

    Raises:
        ConfigError: both sides are local, a side is a file, or the delete guard refused
            (nothing was changed).
        NotFoundError: the source folder is missing, or nothing is below the source prefix
            (nothing was changed: a mistyped source never empties the destination).
    """
    from ferry.storage import open_store

    if not (source.startswith("s3://") or dest.startswith("s3://")):
        raise ConfigError("Both sides are local.", "Use rsync, or give an s3:// side.")
    if source.startswith("s3://") and dest.startswith("s3://"):
        _refuse_nested(source, dest)
        return _sync_remote(
            open_store(_folder_url(source), settings=settings),
            open_store(_folder_url(dest), settings=settings),
            delete=delete,
            dry_run=dry_run,
            yes=yes,
            delete_threshold=delete_threshold,
            size_only=size_only,
            filters=filters,
            workers=settings.concurrency,
        )
    pushing = dest.startswith("s3://")
    folder = Path(source if pushing else dest).expanduser().absolute()
    _check_local(source if pushing else dest, folder, pushing)
    url = _folder_url(dest if pushing else source)
    store = open_store(url, settings=settings)
    mapping = Mapping(folder.name or "sync", ".", "", "push" if pushing else "pull", "local-wins")
    origin = f"{folder} <-> {store.url}"
    state_dir = (state_root or _state_root()) / hashlib.sha256(origin.encode()).hexdigest()[:20]
    with _locked(state_dir, origin, dry_run):
        return sync_folder(
            folder,
            store,
            mapping,
            "push" if pushing else "pull",
            state_path=state_dir / "state.json",
            origin=origin,
            dry_run=dry_run,
            yes=yes,
            delete_threshold=delete_threshold,
            workers=settings.concurrency,
            on_plan=on_plan,
            on_file=on_file,
            stop=stop,
            deletes="asked" if delete else False,
            size_only=size_only,
            filters=filters,
            source_must_exist=True,
        )


def _check_local(given: str, folder: Path, is_source: bool) -> None:
    """The local side is a folder; a missing source folder is refused (a pull makes its
    destination folder)."""
    if folder.is_file():
        raise ConfigError(
            f"{given} is a file; ferry sync SRC DST syncs folders.",
            "Give a folder, or copy one file with ferry cp.",
        )
    if is_source and not folder.is_dir():
        raise NotFoundError(
            f"No folder at {given} (the source).",
            "Check the path; nothing was changed.",
        )


def _refuse_nested(source: str, dest: str) -> None:
    """One prefix holding the other would copy into itself, or (--delete) delete the
    source as 'not in the source'."""
    a, b = _folder_url(source).rstrip("/") + "/", _folder_url(dest).rstrip("/") + "/"
    if a.startswith(b) or b.startswith(a):
        raise ConfigError(
            f"{source} and {dest} overlap: one holds the other.",
            "Sync between prefixes side by side (neither inside the other).",
        )


def _folder_url(url: str) -> str:
    """``s3://b/p`` and ``s3://b/p/`` both mean the folder ``p``."""
    return url.rstrip("/") if url.count("/") > 2 else url


def _state_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("ferry")) / "sync"


@contextmanager
def _locked(folder: Path, origin: str, dry_run: bool) -> Iterator[None]:
    """One sync of a pair at a time (a dry run reads only and takes no lock)."""
    if dry_run:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"Another ferry sync of {origin} is running.", "Wait for it to finish."
            ) from None
        yield


def sync_stores(
    source: Store,
    dest: Store,
    *,
    source_prefix: str = "",
    delete: bool = False,
    dry_run: bool = False,
    size_only: bool = False,
    workers: int = 32,
) -> Outcome:
    """Make ``dest`` hold what ``source`` holds below the folder ``source_prefix``, between
    any two stores (a memory root to S3, one bucket to another): copies the new and the
    changed, deletes only with ``delete`` (never more than half of ``dest`` without more
    proof)."""
    return _sync_remote(
        source,
        dest,
        source_prefix=source_prefix,
        delete=delete,
        dry_run=dry_run,
        yes=False,
        delete_threshold=0.5,
        size_only=size_only,
        filters=EVERYTHING,
        workers=workers,
    )


# -- S3 to S3 -------------------------------------------------------------------------


def plan_copies(
    source: dict[str, ObjectInfo],
    dest: dict[str, ObjectInfo],
    *,
    delete: bool,
    size_only: bool,
    same: dict[str, bool] | None = None,
) -> Plan:
    """What makes ``dest`` hold ``source`` (paths relative to each prefix): a pure
    function. Same size and ETag is the same object; ``same`` settles pairs whose ETags
    differ (a multipart copy gets a new ETag) by their recorded checksums."""
    actions = []
    for path in sorted(set(source) | set(dest)):
        here, there = source.get(path), dest.get(path)
        if here is None:
            if delete:
                actions.append(Action(path, "delete-remote", "not in the source"))
            else:
                actions.append(Action(path, "skip", "not in the source; kept (no --delete)"))
        elif there is None:
            actions.append(Action(path, "upload", "new", here.size))
        elif here.size == there.size and (
            size_only or here.etag == there.etag or (same or {}).get(path)
        ):
            actions.append(Action(path, "skip", "identical"))
        else:
            actions.append(Action(path, "upload", "changed", here.size))
    return Plan(actions)


def _sync_remote(
    source: Store,
    dest: Store,
    *,
    delete: bool,
    dry_run: bool,
    yes: bool,
    delete_threshold: float,
    size_only: bool,
    filters: Filters,
    workers: int,
    source_prefix: str = "",
) -> Outcome:
    from ferry.sync.scan import CHECKSUM_KEY

    at = source_prefix
    listed = list(source.list(at))  # once: it tells 'nothing there' from 'nothing chosen'
    src = {i.key[len(at) :]: i for i in selected(listed, at, filters)}
    if not listed:
        raise NotFoundError(
            f"Nothing at {source.url}/{at} (the source).",
            "Check the bucket and prefix (ferry ls); nothing was changed.",
        )
    dst = {i.key: i for i in tree_keys(dest, "", filters)}
    unsure = [
        p for p in src if p in dst and src[p].size == dst[p].size and src[p].etag != dst[p].etag
    ]
    same = {}
    if not size_only:
        for path in unsure:  # one HEAD each side: ferry's recorded checksums decide
            a = source.head(at + path).metadata.get(CHECKSUM_KEY)
            same[path] = a is not None and a == dest.head(path).metadata.get(CHECKSUM_KEY)
    the_plan = plan_copies(src, dst, delete=delete, size_only=size_only, same=same)
    mapping = Mapping(dest.url.rsplit("/", 1)[-1] or "sync", ".", "", "push", "local-wins")
    report = Report(mapping.name, "copy")
    gone = the_plan.of("delete-remote")
    if not yes and len(gone) > SMALL_DELETE and len(gone) > delete_threshold * len(dst):
        refusal = f"Syncing would delete {len(gone)} of the {len(dst)} objects in {dest.url}."
        if not dry_run:
            raise ConfigError(
                refusal, "Check with --dryrun, then run again with --yes if that is what you want."
            )
        report.refusal = refusal
    if not dry_run:
        started = time.perf_counter()
        _copy_and_delete(source, dest, the_plan, src, report, workers, at)
        report.seconds = time.perf_counter() - started
    return Outcome(mapping, "copy", the_plan, report)


def _copy_and_delete(
    source: Store,
    dest: Store,
    the_plan: Plan,
    src: dict[str, ObjectInfo],
    report: Report,
    workers: int,
    at: str,
) -> None:
    calls = {
        a.path: partial(copy_object, source, at + a.path, dest, a.path, src[a.path])
        for a in the_plan.of("upload")
    }
    done, failures = run_collect(calls, workers)
    report.uploaded, report.uploaded_bytes = len(done), sum(i.size for i in done.values())
    report.errors += [(name, str(error)) for name, error in failures]
    gone = [a.path for a in the_plan.of("delete-remote")]
    if gone and not failures:
        dest.delete(gone)
        report.deleted_remote = len(gone)
    report.skipped = len(the_plan.of("skip"))
