"""ferry's storage layer: one :class:`Store` protocol over memory, local disk and S3.

:func:`open_store` picks the implementation from the URL and imports it lazily, so using
memory or local stores never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferry.storage.base import Listing, ObjectInfo, PutMode, Store, StoredObject

if TYPE_CHECKING:
    from ferry.config import Settings
    from ferry.storage.s3 import S3Options

__all__ = ["Listing", "ObjectInfo", "PutMode", "Store", "StoredObject", "open_store"]


def open_store(
    url: str, *, settings: Settings | None = None, s3_options: S3Options | None = None
) -> Store:
    """The store for ``url``: ``memory://name``, ``s3://bucket/prefix``, ``file://`` or a path.

    Args:
        url: where the store is rooted.
        settings: resolved settings for S3 options (``load_settings()`` when omitted).
        s3_options: explicit S3 options, used instead of ``settings``.
    """
    if url.startswith("memory://"):
        from ferry.storage.memory import MemoryStore

        return MemoryStore(url[len("memory://") :])
    if url.startswith("s3://"):
        from ferry.storage.s3 import S3Options, S3Store

        if s3_options is None:
            from ferry.config import load_settings

            s3_options = S3Options.from_settings(settings or load_settings())
        return S3Store(url, s3_options)
    from ferry.storage.local import LocalStore

    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return LocalStore(unquote(urlparse(url).path))
    if "://" in url:
        from ferry.errors import ConfigError

        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"Unsupported storage URL scheme {scheme!r} in {url!r}.",
            "Use s3://bucket/prefix, memory://name, file:///path or a local path.",
        )
    return LocalStore(url)
