"""``Rubicon.sync``: a project of a local or memory root copied to S3 through
``ferry.sync`` (rubicon-ml shells out to ``aws s3 sync``, which compares sizes and times).

From a local root it is ``ferry sync FOLDER s3://...``: content-exact (a same-size edit
with an older modification time is still sent), with a state per pair that makes a
second sync cost one listing. From a memory root, the stores are compared directly. No
object is ever deleted on S3, as with rubicon-ml's ``aws s3 sync`` (no ``--delete``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferry.errors import RubiconException
from ferry.storage.composite import CompositeStore
from ferry.storage.local import LocalStore
from ferry.storage.memory import MemoryStore

if TYPE_CHECKING:
    from ferry.config import Settings
    from ferry.storage.base import Store

__all__ = ["sync_project"]


def sync_project(root: Store, folder: str, s3_root_dir: str, settings: Settings) -> int:
    """Send the project ``folder`` of ``root`` to ``s3_root_dir``; the files sent."""
    from ferry.storage import open_store
    from ferry.sync.paths import sync_paths, sync_stores

    if not s3_root_dir.startswith("s3://"):
        raise RubiconException(
            f"Rubicon.sync sends a project to S3; {s3_root_dir!r} is not an s3:// URL.",
            "Give s3_root_dir as s3://bucket/prefix.",
        )
    source = _source(root)
    dest = f"{s3_root_dir.rstrip('/')}/{folder}"
    if isinstance(source, LocalStore):
        outcome = sync_paths(str(source.path_of(folder)), dest, settings)
    else:
        target = open_store(dest, settings=settings)
        outcome = sync_stores(
            source, target, source_prefix=f"{folder}/", workers=settings.concurrency
        )
    if outcome.report.errors:
        failed = "; ".join(f"{path}: {message}" for path, message in outcome.report.errors[:3])
        raise RubiconException(
            f"Syncing {folder!r} to {s3_root_dir} failed for {len(outcome.report.errors)} "
            f"file(s): {failed}.",
            "Fix what is named and sync again: what was sent is kept.",
        )
    return outcome.report.uploaded


def _source(root: Store) -> Store:
    """The local or memory backend to sync from (the first one of a composite)."""
    members = root.members if isinstance(root, CompositeStore) else [root]
    for member in members:
        if isinstance(member, LocalStore | MemoryStore):
            return member
    raise RubiconException(
        f"Rubicon.sync sends a local root to S3, and this client's root is {root.url}: "
        "already on S3.",
        "To copy between two S3 prefixes, use: ferry sync s3://bucket/a s3://bucket/b",
    )
