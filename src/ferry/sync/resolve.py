"""Settle a conflict a ``manual`` mapping left: keep the local or the remote version.

``ferry sync`` leaves a file changed on both sides alone under the ``manual`` rule (exit
code 20). :func:`resolve` sends the kept side's version (or its deletion) to the other
side and records the pair as synced, so the next sync sees nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ferry.errors import ConfigError, NotFoundError
from ferry.storage.base import Encrypted, Store
from ferry.sync.apply import inside
from ferry.sync.plan import LocalFile, RemoteFile, Synced, plan
from ferry.sync.run import workspace_lock
from ferry.sync.scan import CHECKSUM_KEY, checksum_file
from ferry.sync.state import SyncState, identity
from ferry.sync.workspace import Mapping, Workspace

__all__ = ["resolve"]

Keep = Literal["local", "remote"]


def resolve(
    workspace: Workspace, path: Path, keep: Keep, open_store: Callable[[str], Store]
) -> str:
    """Make both sides hold the ``keep`` side's version of ``path`` (a file inside one of
    the workspace's mapped folders); what was done, in words.

    Raises:
        ConfigError: ``path`` is in no mapped folder, the mapping may not send that way,
            or the file is not in conflict (a sync settles it by itself).
        NotFoundError: neither side has the file.
    """
    mapping, rel = _locate(workspace, path)
    sends = {"local": "push", "remote": "pull"}[keep]
    if mapping.direction not in (sends, "both"):
        raise ConfigError(
            f"Mapping {mapping.name!r} is {mapping.direction}-only: keeping the {keep} "
            f"version would {sends} it.",
            "Resolve conflicts of two-way mappings only.",
        )
    folder = workspace.local_dir(mapping)
    store = open_store(workspace.remote_url(mapping))
    origin = f"{folder.resolve()} <-> {workspace.remote_url(mapping)}"
    with workspace_lock(workspace):
        state = SyncState.load(workspace.state_dir() / f"{mapping.name}.json", origin)
        _check_conflict(store, folder, rel, state)
        if keep == "local":
            done = _keep_local(store, folder, rel, state)
        else:
            done = _keep_remote(store, folder, rel, state)
        state.save()
    return f"{mapping.name}: {rel}: {done}"


def _check_conflict(store: Store, folder: Path, rel: str, state: SyncState) -> None:
    """Only a path a sync would leave as a conflict may be resolved by hand: anything
    else (a mistyped path, a file only one side changed) a sync settles, and resolving it
    here could delete what nobody asked to."""
    local = folder / rel
    here = None
    if local.is_file():
        stat = local.stat()
        mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
        here = LocalFile(stat.st_size, mtime, checksum_file(local))
    there = None
    if store.exists(rel):
        info = store.head(rel)
        there = RemoteFile(info.size, info.mtime, info.etag, info.metadata.get(CHECKSUM_KEY))
    if here is None and there is None:
        raise NotFoundError(f"{rel} is on neither side.", "Nothing to resolve.")
    files = {rel: here} if here else {}
    remote = {rel: there} if there else {}
    (action,) = plan(files, remote, state.synced, direction="both", conflict="manual").actions
    if action.kind != "conflict":
        raise ConfigError(
            f"{rel} is not in conflict ({action.reason}).",
            "Nothing to resolve: 'ferry sync' settles it by itself.",
        )


def _locate(workspace: Workspace, path: Path) -> tuple[Mapping, str]:
    target = path.expanduser().absolute()
    for mapping in workspace.mappings:
        folder = workspace.local_dir(mapping).absolute()
        if target.is_relative_to(folder) and target != folder:
            return mapping, target.relative_to(folder).as_posix()
    raise ConfigError(
        f"{path} is not inside a mapped folder of the workspace in {workspace.root}.",
        "Give the path of the conflicting file as 'ferry sync' named it, under its folder.",
    )


def _key_id(store: Store) -> str:
    return store.encryption_id if isinstance(store, Encrypted) else ""


def _keep_local(store: Store, folder: Path, rel: str, state: SyncState) -> str:
    local = folder / rel
    if not local.is_file():
        if not store.exists(rel):
            raise NotFoundError(f"{rel} is on neither side.", "Nothing to resolve.")
        store.delete([rel])
        state.synced.pop(rel, None)
        return "deleted in the bucket (it is gone here)"
    digest = checksum_file(local)
    info = store.put_file(rel, local, metadata={CHECKSUM_KEY: digest})
    state.synced[rel] = Synced(digest, info.etag, _key_id(store))
    state.hashes[rel] = (identity(local.stat()), digest)
    return "the local version was sent to the bucket"


def _keep_remote(store: Store, folder: Path, rel: str, state: SyncState) -> str:
    target = inside(folder, rel)
    if not store.exists(rel):
        if not target.is_file():
            raise NotFoundError(f"{rel} is on neither side.", "Nothing to resolve.")
        target.unlink()
        state.synced.pop(rel, None)
        state.hashes.pop(rel, None)
        return "deleted here (it is gone from the bucket)"
    info = store.get_file(rel, target)
    digest = info.metadata.get(CHECKSUM_KEY) or checksum_file(target)
    state.synced[rel] = Synced(digest, info.etag, _key_id(store))
    state.hashes[rel] = (identity(target.stat()), digest)
    return "the bucket's version was brought here"
