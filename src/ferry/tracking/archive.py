"""``Project.archive`` and ``Project.experiments_from_archive``, in rubicon-ml's format.

An archive is a zip of the project's ``experiments/`` folder (each experiment's folder at
the top: ``<id>/metadata.json``, ``<id>/metrics/...``) written to
``<root>/<project>/archives/archive-<timestamp>.zip``, so rubicon-ml and ferry read each
other's archives. An archive written to another root also gives that root the project's
``metadata.json`` if it has none, so the archive can be unpacked from there. ferry adds
each experiment's metric steps under ``<id>/history/``, a folder rubicon-ml ignores.
Files go through a temporary folder, so a large artifact is never held in memory whole.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from ferry.errors import AlreadyExistsError, NotFoundError, RubiconException
from ferry.storage.base import Store
from ferry.storage.batch import download_tree, put_many
from ferry.tracking.codec import slugify
from ferry.tracking.repository import METADATA, Repository, plain

__all__ = ["read_archives", "write_archive"]


def write_archive(
    repository: Repository, project: str, ids: list[str] | None, target: Store
) -> str:
    """Zip the experiments ``ids`` (all when None) into ``target``; the archive's path."""
    slug = slugify(project)
    store = repository.store
    if ids is None:
        ids = [p.rstrip("/").rsplit("/", 1)[-1] for p in store.ls(f"{slug}/experiments/").prefixes]
    with tempfile.TemporaryDirectory() as folder:
        staged = Path(folder, "experiments")
        for experiment_id in ids:
            download_tree(
                store,
                f"{slug}/experiments/{experiment_id}/",
                staged / experiment_id,
                workers=repository.workers,
            )
            download_tree(
                store,
                f"{slug}/history/{experiment_id}/",
                staged / experiment_id / "history",
                workers=repository.workers,
            )
        archive = Path(folder, "archive.zip")
        _zip(staged, archive)
        key = f"{slug}/archives/archive-{datetime.now().timestamp()}.zip"
        target.put_file(key, archive)
    _copy_project(store, target, slug)
    return f"{plain(target.url)}/{key}"


def _copy_project(source: Store, target: Store, slug: str) -> None:
    """Give the archive's root the project's record, unless it has one: unpacking the
    archive there needs it (rubicon-ml leaves that to the user)."""
    if source is target:
        return
    with contextlib.suppress(AlreadyExistsError):
        target.put(f"{slug}/{METADATA}", source.get(f"{slug}/{METADATA}"), mode="create")


def _zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file():
                out.write(path, path.relative_to(folder).as_posix())


def read_archives(repository: Repository, project: str, source: Store, latest_only: bool) -> int:
    """Unpack ``source``'s archives of ``project`` into ``repository``; the number of
    experiments that were not there before."""
    slug = slugify(project)
    store = repository.store
    try:
        store.put(f"{slug}/{METADATA}", source.get(f"{slug}/{METADATA}"))
    except NotFoundError:
        raise RubiconException(f"No project with name '{project}' found in {source.url}.") from None
    archives = [o for o in source.list(f"{slug}/archives/") if o.key.endswith(".zip")]
    if not archives:
        raise ValueError("`remote_rubicon_root` has no archives")
    if latest_only:
        archives = [max(archives, key=lambda o: (o.mtime, o.key))]
    before = _experiment_ids(store, slug)
    with tempfile.TemporaryDirectory() as folder:
        for info in archives:
            path = Path(folder, "archive.zip")
            source.get_file(info.key, path, size=info.size)
            put_many(store, _members(path, slug), workers=repository.workers)
    return len(_experiment_ids(store, slug) - before)


def _members(archive: Path, slug: str) -> dict[str, bytes]:
    """The archive's files, keyed where they belong in the root."""
    found = {}
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            if name.endswith("/"):
                continue
            parts = name.split("/")
            if len(parts) > 2 and parts[1] == "history":
                key = f"{slug}/history/{parts[0]}/{'/'.join(parts[2:])}"
            else:
                key = f"{slug}/experiments/{name}"
            found[key] = opened.read(name)
    return found


def _experiment_ids(store: Store, slug: str) -> set[str]:
    return {p.rstrip("/").rsplit("/", 1)[-1] for p in store.ls(f"{slug}/experiments/").prefixes}
