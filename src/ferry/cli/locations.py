"""Where a command's URL points: an S3 bucket and key, or a local file or folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.config import load_settings
from ferry.errors import ConfigError, EncryptionError, NotFoundError
from ferry.storage.base import ObjectInfo, Store
from ferry.storage.filters import Filters
from ferry.storage.transfer import EVERYTHING, tree_keys

__all__ = ["Location", "folder_objects", "locate"]


@dataclass(frozen=True)
class Location:
    """A URL split into the store that holds it and the key (or prefix) inside that store."""

    store: Store
    key: str
    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")


def locate(url: str, overrides: dict[str, Any], *, must_exist: bool = False) -> Location:
    """Where ``url`` points: an ``s3://`` URL, or a local path (which, with ``must_exist``,
    must be there: ``ferry ls demo`` most likely meant ``s3://demo``)."""
    if url.startswith("s3://"):
        from ferry.storage import open_store
        from ferry.storage.names import parse_s3_url

        bucket, _ = parse_s3_url(url)
        key = url[5:].partition("/")[2]
        return Location(open_store(f"s3://{bucket}", settings=load_settings(overrides)), key, url)
    if "://" in url:
        raise ConfigError(
            f"{url!r} is neither an s3:// URL nor a local path.", "Use s3://bucket/key or a path."
        )
    from ferry.storage.local import LocalStore

    path = Path(url).expanduser().absolute()
    if must_exist and not path.exists():
        raise NotFoundError(
            f"{url} is neither an s3:// URL nor an existing local file or folder.",
            f"For a bucket, write s3://{url}; for a local folder, check the path.",
        )
    if path.is_dir():
        return Location(LocalStore(path), "", url)
    return Location(LocalStore(path.parent), path.name, url)


def folder_objects(
    store: Store, key: str, filters: Filters = EVERYTHING, *, markers: bool = False
) -> list[ObjectInfo]:
    """The objects a recursive command means by ``key``, as ``aws s3`` does: a key ending
    in ``/`` (or none) is that folder; ``runs/run-1`` is the object ``runs/run-1`` and the
    folder ``runs/run-1/`` - never ``runs/run-10/...``. ``filters`` match paths relative
    to the folder (the object ``runs/run-1`` itself: by its name). ``markers`` keeps the
    "folder" objects (``dir/``) a console makes: ``rm -r`` deletes those too."""
    if not key or key.endswith("/"):
        return tree_keys(store, key, filters, markers=markers)
    found = tree_keys(store, key + "/", filters, markers=markers)
    try:
        exact = store.head(key)
    except NotFoundError:
        return found
    except EncryptionError:  # there, but not readable with the configured key
        exact = ObjectInfo(key, 0, "", datetime.now(UTC))
    if filters.selects(key.rsplit("/", 1)[-1]):
        found.insert(0, exact)
    return found
