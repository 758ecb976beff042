"""``s3store`` / ``s3read``: any Python object by key (seed 004, s3mpi's API).

::

    from ferry.objects import s3store, s3read
    s3store(frame, "churn/2026-11/features")          # to FERRY_PATH, e.g. s3://team/objects/
    frame = s3read("churn/2026-11/features")          # a DataFrame again, from any machine

The default path comes from ``FERRY_PATH`` or ``path`` in ``ferry.toml``; a ``path=``
argument overrides it. Reads go through a local cache revalidated with one HEAD (by ETag),
capped at ``cache_max_bytes`` with least-recently-used eviction; ``offline = true`` serves
the cache without asking S3, with a warning that it may be stale.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ferry.config import Settings, load_settings
from ferry.errors import ConfigError, NotFoundError
from ferry.objects.codecs import FORMAT_KEY, decode, encode, frame_from_cache
from ferry.storage import ObjectInfo, Store, open_store
from ferry.storage.base import check_key
from ferry.storage.cached import CachedStore

__all__ = ["ObjectStore", "s3delete", "s3exists", "s3ls", "s3read", "s3store"]


class ObjectStore:
    """Objects by key under one path, with a read cache.

    Args:
        path: ``s3://bucket/prefix``, a local folder or ``memory://``.
        settings: ferry settings (S3 options, cache folder, size cap, offline).
        store: a store to use directly instead of opening ``path``.
    """

    def __init__(
        self, path: str, settings: Settings | None = None, *, store: Store | None = None
    ) -> None:
        self.settings = settings or load_settings()
        self.path = path
        base = store or open_store(path, settings=self.settings)
        cache_dir = Path(self.settings.cache_dir or _default_cache_dir()) / "objects"
        self.store = CachedStore(
            base, cache_dir, max_bytes=self.settings.cache_max_bytes, offline=self.settings.offline
        )

    def url(self, key: str) -> str:
        return f"{self.path.rstrip('/')}/{key}"

    def write(self, obj: Any, key: str, *, overwrite: bool = True) -> str:
        data, format_name = encode(obj)
        self.store.put(
            check_key(key),
            data,
            mode="overwrite" if overwrite else "create",
            metadata={FORMAT_KEY: format_name},
        )
        return self.url(key)

    def read(self, key: str) -> Any:
        try:
            path, info = self.store.local_path(check_key(key))
        except NotFoundError:
            raise NotFoundError(
                f"No object at {self.url(key)}.", "Check the key, or list them with s3ls()."
            ) from None
        format_name = info.metadata.get(FORMAT_KEY)
        if format_name == "parquet-pandas":
            try:
                return frame_from_cache(path, info.etag)
            except Exception:
                pass  # decode() below says what is wrong with it
        return decode(path.read_bytes(), format_name, self.url(key))

    def exists(self, key: str) -> bool:
        return self.store.exists(check_key(key))

    def delete(self, key: str) -> None:
        self.store.delete([check_key(key)])

    def ls(self, prefix: str = "") -> list[ObjectInfo]:
        return list(self.store.list(prefix))


def _default_cache_dir() -> str:
    import platformdirs

    return platformdirs.user_cache_dir("ferry")


def _default_path(path: str | None, settings: Settings) -> str:
    path = path or settings.path
    if not path:
        raise ConfigError(
            "No path given and no default path set.",
            "Pass path='s3://bucket/prefix/', or set one: export FERRY_PATH=s3://bucket/prefix/ "
            '(or path = "s3://bucket/prefix/" under [ferry] in ferry.toml).',
        )
    return path


@lru_cache(maxsize=16)
def _store_for(path: str, settings: Settings) -> ObjectStore:
    """One ObjectStore per path and settings: opening an S3 store costs milliseconds."""
    return ObjectStore(path, settings)


def _resolve(path: str | None) -> ObjectStore:
    settings = load_settings()
    return _store_for(_default_path(path, settings), settings)


def s3store(obj: Any, key: str, path: str | None = None, *, overwrite: bool = True) -> str:
    """Store ``obj`` at ``key`` under ``path`` (default: FERRY_PATH); the object's URL.
    With ``overwrite=False`` an existing object is never replaced (AlreadyExistsError)."""
    return _resolve(path).write(obj, key, overwrite=overwrite)


def s3read(key: str, path: str | None = None) -> Any:
    """The object stored at ``key``, as the type it was stored as."""
    return _resolve(path).read(key)


def s3exists(key: str, path: str | None = None) -> bool:
    return _resolve(path).exists(key)


def s3delete(key: str, path: str | None = None) -> None:
    _resolve(path).delete(key)


def s3ls(prefix: str = "", path: str | None = None) -> list[ObjectInfo]:
    return _resolve(path).ls(prefix)
