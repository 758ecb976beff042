"""A faster path for many small S3 requests, through obstore (Rust, GIL released).

boto3 spends 1.2-2 ms of interpreter time on every request, which caps a 2-core machine
near 500-650 small objects per second whatever the thread count; obstore spends 0.1-0.3 ms
(measured: 2,200-2,400 objects/s against the same local server). :class:`S3Store` sends
single-request GETs, PUTs and folder listings here and keeps boto3 for the rest
(multipart, copy, batch delete).

This path is an accelerator, not a second source of truth: when it fails for any reason
but a create-only conflict, the store repeats the operation through boto3, whose errors
ferry translates into messages that say what to do. It only takes keys of plain ASCII
characters (object_store re-encodes others), and listings only of folder prefixes
(object_store lists ``prefix/``, not every key that starts with ``prefix``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeAlias

    import boto3

    from ferry.storage.s3_options import S3Options

    # Static keys (access_key_id, secret_access_key, token), or a boto3 session whose
    # credential chain (profiles, SSO, instance roles) provides them.
    Credentials: TypeAlias = dict[str, str] | boto3.session.Session


__all__ = ["FastConflict", "FastPath", "fast_path"]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9._\-/=+,@~]+$")
# Attributes obstore returns beside user metadata (x-amz-meta-*).
_STANDARD_ATTRIBUTES = {
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Type",
    "Cache-Control",
    "Storage-Class",
}


class FastConflict(Exception):
    """A create-only write found an object already there."""


class FastPath:
    """obstore's S3 client for one bucket, configured like the boto3 client beside it."""

    def __init__(
        self, bucket: str, options: S3Options, credentials: Credentials, region: str
    ) -> None:
        from obstore.store import S3Store as ObjectStore

        kwargs: dict[str, Any] = {
            "region": region,
            # No retries here: a failed request is repeated through boto3, whose standard
            # backoff is the one retry policy ferry has.
            "retry_config": {
                "max_retries": 0,
                "retry_timeout": timedelta(seconds=0),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=1),
                    "max_backoff": timedelta(milliseconds=1),
                    "base": 2,
                },
            },
            "client_options": {
                "timeout": timedelta(seconds=120),
                "connect_timeout": timedelta(seconds=10),
            },
        }
        if options.endpoint_url:
            kwargs["endpoint"] = options.endpoint_url
            kwargs["virtual_hosted_style_request"] = False
            if options.endpoint_url.startswith("http://"):
                kwargs["client_options"]["allow_http"] = True
        if isinstance(credentials, dict):
            kwargs.update(credentials)
        else:
            from obstore.auth.boto3 import Boto3CredentialProvider

            kwargs["credential_provider"] = Boto3CredentialProvider(credentials)
        if options.sse_c is not None:
            kwargs["server_side_encryption"] = "sse-c"
            kwargs["sse_customer_key_base64"] = options.sse_c.base64()
        self._store = ObjectStore(bucket, **kwargs)
        self._storage_class = options.storage_class

    @staticmethod
    def takes(key: str) -> bool:
        """Whether ``key`` can go this way unchanged."""
        return bool(_PLAIN_KEY.match(key)) and "//" not in key and not key.startswith("/")

    def get(self, key: str) -> tuple[bytes, str, int, datetime, dict[str, str]]:
        """Content, ETag, size, modification time and user metadata."""
        import obstore

        result = obstore.get(self._store, key)
        data = result.bytes().to_bytes()
        meta = result.meta
        metadata = {
            k: str(v) for k, v in result.attributes.items() if k not in _STANDARD_ATTRIBUTES
        }
        return data, (meta["e_tag"] or "").strip('"'), meta["size"], meta["last_modified"], metadata

    def get_range(
        self, key: str, start: int, end: int, if_match: str | None
    ) -> tuple[Iterator[Any], int, str, datetime, dict[str, str]]:
        """Bytes ``start`` to ``end`` (exclusive) as a stream of chunks (buffers, about
        1 MiB each, so a range never sits whole in memory), with the whole object's size,
        ETag, modification time and user metadata. ``if_match`` pins the ETag."""
        import obstore

        options: dict[str, Any] = {"range": (start, end)}
        if if_match:
            options["if_match"] = f'"{if_match}"'
        result = obstore.get(self._store, key, options=options)  # type: ignore[arg-type]
        meta = result.meta
        metadata = {
            k: str(v) for k, v in result.attributes.items() if k not in _STANDARD_ATTRIBUTES
        }
        etag = (meta["e_tag"] or "").strip('"')
        chunks = iter(result.stream(min_chunk_size=1024 * 1024))
        return chunks, meta["size"], etag, meta["last_modified"], metadata

    def put(
        self, key: str, data: bytes, *, create: bool, metadata: Mapping[str, str] | None
    ) -> str:
        """Write ``data``; its ETag. Raises :class:`FastConflict` for a create-only clash."""
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        attributes: dict[str, str] = {"Storage-Class": self._storage_class, **(metadata or {})}
        try:
            result = obstore.put(
                self._store,
                key,
                data,
                mode="create" if create else "overwrite",
                attributes=attributes,
                use_multipart=False,
            )
        except (AlreadyExistsError, PreconditionError) as exc:
            raise FastConflict(key) from exc
        return (result["e_tag"] or "").strip('"')

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        metadata: Mapping[str, str] | None,
        part_size: int,
        workers: int,
    ) -> str:
        """Upload a large file in parts (multipart, aborted if it fails); its ETag.

        Not for SSE-C (obstore leaves the key off the completing request) nor for
        create-only writes (obstore's multipart has no condition): boto3 does those.
        """
        import obstore

        attributes: dict[str, str] = {"Storage-Class": self._storage_class, **(metadata or {})}
        result = obstore.put(
            self._store,
            key,
            path,
            attributes=attributes,
            use_multipart=True,
            chunk_size=part_size,
            max_concurrency=workers,
        )
        return (result["e_tag"] or "").strip('"')

    def list(self, folder: str) -> Iterator[Mapping[str, Any]]:
        """Every object below ``folder`` (which ends in ``/`` or is empty), in pages."""
        import obstore

        for page in obstore.list(self._store, folder.rstrip("/") or None, chunk_size=1000):
            for meta in page:
                yield dict(meta)


def fast_path(
    bucket: str, options: S3Options, credentials: Credentials, region: str
) -> FastPath | None:
    """The fast path, or None where it cannot serve (obstore missing, no credentials yet:
    boto3 then reports the problem in ferry's words)."""
    if not options.fast:
        return None
    try:
        return FastPath(bucket, options, credentials, region)
    except (ImportError, ValueError):
        return None
