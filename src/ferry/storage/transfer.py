"""Copies between any two stores: one object, or every object below a prefix.

- S3 to S3 is a server-side copy (nothing passes through this machine; in parts past
  5 GiB; each side with its own SSE-C key).
- Between a local folder and S3, files stream from and to disk (constant memory).
- Trees run on a bounded pool, carry on past a failure and raise one ``MultiError``
  naming every key that failed; ``--exclude``/``--include`` rules pick the keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ferry.storage.base import ObjectInfo, Progress, Store
from ferry.storage.filters import Filters

__all__ = ["EVERYTHING", "copy_object", "selected", "tree_keys"]

EVERYTHING = Filters()  # no rules: every object


def copy_object(
    source: Store,
    key: str,
    dest: Store,
    dest_key: str,
    info: ObjectInfo | None = None,
    progress: Progress | None = None,
) -> ObjectInfo:
    """Copy one object; ``info`` (the source's, from a listing) can save a request;
    ``progress`` is told of the bytes as they move."""
    from ferry.storage.local import LocalStore
    from ferry.storage.s3 import S3Store

    if isinstance(source, S3Store) and isinstance(dest, S3Store):
        copied = dest.copy_from(source, key, dest_key, info)
        if progress is not None:
            progress(copied.size)
        return copied
    if isinstance(source, LocalStore):
        return dest.put_file(dest_key, source.path_of(key), progress=progress)
    size = info.size if info is not None else None
    if isinstance(dest, LocalStore):
        return source.get_file(key, dest.path_of(dest_key), progress=progress, size=size)
    import tempfile  # here: a sync imports this module, and seldom needs it (~3 ms)

    with tempfile.TemporaryDirectory() as scratch:  # any other pair: through a file
        path = Path(scratch, "object")
        source.get_file(key, path, size=size)
        return dest.put_file(dest_key, path, progress=progress)


def tree_keys(
    store: Store, prefix: str, filters: Filters = EVERYTHING, *, markers: bool = False
) -> list[ObjectInfo]:
    """The objects below the folder ``prefix`` (ending in ``/`` or empty) that the rules
    select, matched on their path relative to ``prefix``; "folder" markers (``dir/``,
    empty) only with ``markers``."""
    return selected(store.list(prefix), prefix, filters, markers=markers)


def selected(
    listed: Iterable[ObjectInfo], prefix: str, filters: Filters, *, markers: bool = False
) -> list[ObjectInfo]:
    """:func:`tree_keys` of a listing already made."""
    found = [i for i in listed if markers or not (i.key.endswith("/") and i.size == 0)]
    return [i for i in found if filters.selects(i.key[len(prefix) :])]
