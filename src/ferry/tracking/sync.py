"""``Rubicon.sync``: copy a local project to S3 with ferry's transfers (rubicon-ml shells
out to ``aws s3 sync``). A file is sent when the remote copy is missing, has another
size, or is older than the local file, which is what ``aws s3 sync`` does."""

from __future__ import annotations

from functools import partial

from ferry.storage.base import ObjectInfo, Store
from ferry.storage.batch import run_many
from ferry.storage.local import LocalStore

__all__ = ["push_changed"]


def push_changed(local: LocalStore, remote: Store, folder: str, *, workers: int = 32) -> int:
    """Upload what changed below ``folder``; the number of files sent."""
    remote_info = {info.key: info for info in remote.list(f"{folder}/")}
    changed = [
        info for info in local.list(f"{folder}/") if _needs_upload(info, remote_info.get(info.key))
    ]
    calls = {
        info.key: partial(remote.put_file, info.key, local.root / info.key) for info in changed
    }
    run_many(f"Syncing {local.url}/{folder} to {remote.url}", calls, workers)
    return len(changed)


def _needs_upload(local: ObjectInfo, remote: ObjectInfo | None) -> bool:
    return remote is None or remote.size != local.size or remote.mtime < local.mtime
