"""The S3 store: the one place ferry sends requests to S3.

- Each operation goes through one transport, chosen when the store is built
  (:class:`~ferry.storage.s3.transport.Routes`): obstore for reads, single writes, large
  uploads without SSE-C and folder listings; boto3 for the rest and for everything when
  obstore is off. A failed request is never repeated on the other transport.
- Every request carries the SSE-C key when one is configured (put, multipart create,
  every part and complete, get, head, copy), and uploads carry the storage class.
- ``mode="create"`` is a conditional write (``If-None-Match: *``), for single puts and on
  multipart completion, so two writers can never both win.
- Large files go up in parts from a bounded pool that reads each part when it is sent. A
  failed multipart upload is aborted, so it leaves no orphan parts. Downloads fetch ranges
  in parallel into a temporary file that is renamed into place; a small object costs one
  request; later ranges are pinned to the first one's ETag (``If-Match``).
- Errors are ferry errors, translated once by :mod:`ferry.storage.s3.errors`.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import AlreadyExistsError, ConfigError, FerryError, MultiError, NotFoundError
from ferry.storage.base import (
    BaseStore,
    Listing,
    ObjectInfo,
    Progress,
    PutMode,
    StoredObject,
    check_data,
    check_key,
    local_errors,
)
from ferry.storage.local import temp_file_name
from ferry.storage.names import parse_s3_url
from ferry.storage.s3.errors import Context, bucket_missing
from ferry.storage.s3.options import S3Options
from ferry.storage.s3.transport import CopySource, Listed, Meta, Routes, Writes
from ferry.storage.s3.via_boto3 import Boto3Transport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ferry.storage.s3.via_obstore import ObstoreTransport

__all__ = ["S3Store"]

_WRITE_ID = "ferry-write-id"  # user metadata naming the create-only write that made an object

# How far back a failed large upload looks for the multipart upload it began (server clocks
# differ a little from ours; the seed has one writer per workspace).
_CLOCK_SLACK = timedelta(seconds=60)


class S3Store(BaseStore):
    """Objects under ``s3://bucket/prefix``.

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix``.
        options: how to reach S3 (endpoint, region, SSE-C key, storage class, ...).
        client: a boto3 S3 client to send every request through (obstore is then unused).
    """

    def __init__(
        self, url: str, options: S3Options | None = None, *, client: S3Client | None = None
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.options = options or S3Options()
        self._boto = Boto3Transport(self.bucket, self.options, client=client)
        fast = self._obstore() if client is None and self.options.fast else None
        self.routes = _routes(self._boto, fast, self.options)
        self._lists_with_boto3 = False
        self._plain: S3Store | None = None

    def _obstore(self) -> ObstoreTransport | None:
        """obstore's transport, or None where it cannot serve (not installed, or no
        credentials to give it: boto3 then reports the problem in ferry's words)."""
        try:
            from ferry.storage.s3.via_obstore import ObstoreTransport

            keys: dict[str, Any] | None = self.options.env_credentials()
            if self.options.anonymous:
                keys = {"skip_signature": True}
            if keys is not None and self.options.region is not None:
                return ObstoreTransport(self.bucket, self.options, keys, self.options.region)
            session = self.options.session()
            region = self.options.region_for(session)
            return ObstoreTransport(self.bucket, self.options, keys or session, region)
        except (ImportError, ValueError):
            return None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def concurrency(self) -> int:
        return self.options.concurrency

    @property
    def encryption_id(self) -> str:
        """A fingerprint of the SSE-C key (never the key), ``""`` without one."""
        return self.options.sse_c.fingerprint() if self.options.sse_c else ""

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _full_prefix(self, prefix: str) -> str:
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _relative(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def _missing(self, error: NotFoundError, key: str) -> NotFoundError:
        """A 404 without S3's code (a HEAD has no body) may mean the bucket is missing: one
        read-only request tells which."""
        if type(error) is NotFoundError and not self._boto.bucket_exists():
            ctx = Context("read", self.bucket, endpoint=self.options.describe_endpoint())
            return bucket_missing(ctx)
        return error

    # -- reads -------------------------------------------------------------------------

    def get_object(self, key: str) -> StoredObject:
        try:
            body = self.routes.reads.get(self._full(key))
            data = body.read()
        except NotFoundError as exc:
            raise self._missing(exc, key) from exc
        return StoredObject(data, _info(key, body.meta))

    def get_file(
        self, key: str, path: Path, *, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        target = os.fspath(path)
        temp = temp_file_name(target)
        with local_errors(target, "write"):
            fd = _create(temp)
        try:
            with local_errors(target, "write"):  # a full disk mid-download, too
                try:
                    info = self._download(key, fd, progress, size)
                finally:
                    os.close(fd)
                os.replace(temp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(exc, NotFoundError):
                raise self._missing(exc, key) from exc
            raise
        return info

    def _download(
        self, key: str, fd: int, progress: Progress | None = None, size: int | None = None
    ) -> ObjectInfo:
        """Fetch the first part; then, for a large object, the other parts in parallel,
        each pinned with ``If-Match`` to the first part's ETag (an object replaced
        mid-download fails instead of producing a file spliced from two versions).

        An object a listing said is at most ``whole_read`` bytes is one GET of all of
        it, whatever it holds by then: below that, parallel ranges cost more requests
        than they save (a pull of 20 x 20 MiB: 10% less wall and CPU, 11 paired runs)."""
        full, part = self._full(key), self.options.part_size
        if size is not None and size <= self.options.whole_read:
            whole = self.routes.reads.get(full)
            _write(whole.chunks, fd, 0, progress)
            return _info(key, whole.meta)
        first = self.routes.reads.get(full, (0, part))
        _write(first.chunks, fd, 0, progress)
        meta = first.meta
        if meta.size <= part:
            return _info(key, meta)

        def fetch(start: int) -> None:
            end = min(start + part, meta.size)
            chunks = self.routes.reads.get(full, (start, end), meta.etag).chunks
            _write(chunks, fd, start, progress)

        from concurrent.futures import ThreadPoolExecutor  # here: a no-op sync never needs it

        with ThreadPoolExecutor(max_workers=self.options.part_workers) as pool:
            list(pool.map(fetch, range(part, meta.size, part)))
        return _info(key, meta)

    def head(self, key: str) -> ObjectInfo:
        try:
            return _info(key, self.routes.reads.head(self._full(key)))
        except NotFoundError as exc:
            raise self._missing(exc, key) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``; a folder marker (``dir/``, zero
        bytes) is listed with its trailing ``/``."""
        full = self._full_prefix(prefix)
        for item in self._listing(full):
            yield _listed(self._relative(item.key), item)

    def _listing(self, full: str) -> builtins.list[Listed]:
        if full and not full.endswith("/"):
            return builtins.list(self._boto.list_any(full))  # only boto3 lists any string
        if not self._lists_with_boto3:
            from ferry.storage.s3.via_obstore import UnrepresentableKey

            try:
                return builtins.list(self.routes.lists.list(full))
            except UnrepresentableKey as exc:
                # A key obstore cannot hold ('a//b', written by another tool): a limit of
                # the transport, not a failed request. boto3 lists this store from now on.
                import logging

                logging.getLogger(__name__).debug("listing %s with boto3: %s", self.url, exc)
                self._lists_with_boto3 = True
        return builtins.list(self._boto.list_any(full))

    def ls(self, prefix: str = "") -> Listing:
        prefixes, objects = self._boto.list_level(self._full_prefix(prefix))
        return Listing(
            [self._relative(p) for p in prefixes],
            [_listed(self._relative(o.key), o) for o in objects],
        )

    def make_bucket(self) -> None:
        """Create this store's bucket (in the configured region)."""
        self._boto.make_bucket(self.options.region or "us-east-1")

    def remove_bucket(self) -> None:
        """Delete this store's bucket, which must be empty."""
        self._boto.remove_bucket()

    def presign(self, key: str, seconds: int = 3600) -> str:
        """A URL that lets anyone with it GET ``key`` for ``seconds`` (at most 7 days)."""
        if self.options.sse_c is not None:
            raise ConfigError(
                "A presigned URL cannot carry an SSE-C key: whoever opens it would also "
                "have to send the key.",
                "Share an object stored without SSE-C, or share the key another way and use "
                "ferry cp on the other side.",
            )
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise ConfigError(
                f"An expiry of {seconds} s is out of range.", "Use 1 s to 604800 s (7 days)."
            )
        return self._boto.presign(self._full(key), seconds)

    def check_bucket(self) -> None:
        """Raise a clear error now if the bucket is missing or not accessible."""
        self._boto.check(self.prefix)

    # -- writes ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        full, data = self._full(key), check_data(data)
        token = uuid.uuid4().hex if mode == "create" else ""
        if token:
            metadata = {**(metadata or {}), _WRITE_ID: token}
        try:
            meta = self.routes.puts.put(full, data, create=mode == "create", metadata=metadata)
        except AlreadyExistsError:
            # Both transports retry a request whose answer was lost; the retry of a
            # create-only write then finds the first attempt's object. If it carries this
            # write's own token, that write was ours and it succeeded (another writer's,
            # even with the same bytes, is still a conflict).
            if token and self._wrote(key, token):
                return self.head(key)
            raise
        return _info(key, meta)

    def _wrote(self, key: str, token: str) -> bool:
        try:
            return self.routes.reads.head(self._full(key)).metadata.get(_WRITE_ID) == token
        except FerryError:
            return False

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        with local_errors(path, "read"):
            size = os.stat(path).st_size
            if size <= self.options.multipart_threshold:
                # Read whole and sent in one request (at most multipart_threshold in memory).
                data = Path(path).read_bytes()
        if size <= self.options.multipart_threshold:
            info = self.put(key, data, mode=mode, metadata=metadata)
            if progress is not None:
                progress(size)
            return info
        full, create = self._full(key), mode == "create"
        route = self.routes.create_file_puts if create else self.routes.file_puts
        started = datetime.now(UTC)
        try:
            meta = route.put_file(
                full, Path(path), size, create=create, metadata=metadata, progress=progress
            )
        except FerryError:
            if route is not self._boto:  # obstore does not abort its multipart upload
                self._abort_uploads_of(full, started - _CLOCK_SLACK)
            raise
        return _info(key, meta)

    def _abort_uploads_of(self, full: str, since: datetime) -> None:
        for upload in self._boto.uploads(full):
            if upload.key == full and upload.initiated >= since:
                self._boto.abort(upload.key, upload.upload_id)

    def copy(self, source_key: str, dest_key: str) -> ObjectInfo:
        """Copy an object within this store, server-side."""
        return self.copy_from(self, source_key, dest_key)

    def copy_from(
        self, source: S3Store, source_key: str, dest_key: str, info: ObjectInfo | None = None
    ) -> ObjectInfo:
        """Copy ``source_key`` of ``source`` (any bucket, its own SSE-C key) to ``dest_key``
        here, server-side: nothing passes through this machine. ``info`` (the source's,
        from a listing) saves a HEAD."""
        if info is None or (info.size > self.options.copy_threshold and not info.metadata):
            info = source.head(source_key)  # a copy in parts must re-send the metadata
        origin = CopySource(
            source.bucket, source._full(source_key), info.size, info.metadata, source.options.sse_c
        )
        self._boto.copy(origin, self._full(dest_key))
        return self.head(dest_key)

    def encrypt(self, key: str) -> ObjectInfo:
        """Rewrite an object stored without SSE-C with this store's key, server-side (a
        copy onto itself: nothing is uploaded again)."""
        if self.options.sse_c is None:
            raise FerryError(f"No SSE-C key is configured for {self.url}.", "Configure one.")
        full = self._full(key)
        info = self.without_encryption().head(key)
        self._boto.copy(CopySource(self.bucket, full, info.size, info.metadata), full)
        return self.head(key)

    def without_encryption(self) -> S3Store:
        """The same store without the SSE-C key: reads objects stored in plain text (one,
        built once: a store costs credentials and two clients)."""
        if self.options.sse_c is None:
            return self
        if self._plain is None:
            self._plain = S3Store(self.url, replace(self.options, sse_c=None))
        return self._plain

    def delete(self, keys: Iterable[str]) -> None:
        """Delete the keys as listed: another tool's odd keys (``a//b``) included, which
        ferry itself never writes."""
        refused = self._boto.delete([self._full_prefix(k) for k in keys if k])
        if refused:
            failures: builtins.list[tuple[str, BaseException]] = [
                (self._relative(key), _delete_error(code, message))
                for key, code, message in refused
            ]
            raise MultiError(f"Deleting from {self.url}", failures)

    def abort_incomplete_uploads(
        self,
        prefix: str = "",
        since: datetime | None = None,
        *,
        exact: bool = False,
        only: Collection[str] | None = None,
    ) -> int:
        """Abort multipart uploads begun under ``prefix`` (of that key alone with
        ``exact``; after ``since``, if given) and never finished, as a killed process
        leaves them: invisible, but S3 bills their parts. The count aborted."""
        full = self._full_prefix(prefix)
        keys = None if only is None else {self._full_prefix(k) for k in only}
        uploads = [
            u
            for u in self._boto.uploads(full)
            if (since is None or u.initiated >= since)
            and (not exact or u.key == full)
            and (keys is None or u.key in keys)
        ]
        for upload in uploads:
            self._boto.abort(upload.key, upload.upload_id)
        return len(uploads)

    def list_incomplete_uploads(self, prefix: str = "") -> builtins.list[tuple[str, str]]:
        """(key, upload id) of multipart uploads begun under ``prefix`` and never finished."""
        return [
            (self._relative(u.key), u.upload_id)
            for u in self._boto.uploads(self._full_prefix(prefix))
        ]


def _routes(boto: Boto3Transport, fast: ObstoreTransport | None, options: S3Options) -> Routes:
    if fast is None:
        return Routes(boto, boto, boto, boto, boto, dict.fromkeys(_OPERATIONS, "boto3"))
    # obstore leaves the SSE-C key off CompleteMultipartUpload, and its multipart upload
    # has no condition: those large uploads go through boto3.
    large: Writes = boto if options.sse_c is not None else fast
    names = dict.fromkeys(_OPERATIONS, "boto3")
    names.update(get="obstore", head="obstore", put="obstore", list="obstore")
    names["put_file"] = "boto3" if options.sse_c is not None else "obstore"
    return Routes(fast, fast, large, boto, fast, names)


_OPERATIONS = (
    "get",
    "head",
    "put",
    "put_file",
    "put_file_create",
    "list",
    "ls",
    "delete",
    "copy",
    "uploads",
)


def _create(path: str) -> int:
    """Create the file ``path`` (a fresh temporary name) and its folders if need be."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o666)


def _write(
    chunks: Iterator[bytes | memoryview], fd: int, offset: int, progress: Progress | None
) -> None:
    """Write chunks at ``offset`` as they arrive (constant memory)."""
    for chunk in chunks:
        view = memoryview(chunk)
        os.pwrite(fd, view, offset)
        offset += len(view)
        if progress is not None:
            progress(len(view))


def _info(key: str, meta: Meta) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=meta.size,
        etag=meta.etag,
        mtime=meta.mtime,
        checksum=meta.checksum,
        metadata={k: v for k, v in meta.metadata.items() if k != _WRITE_ID},
    )


def _listed(key: str, item: Listed) -> ObjectInfo:
    return ObjectInfo(key=key, size=item.size, etag=item.etag, mtime=item.mtime)


def _delete_error(code: str, message: str) -> FerryError:
    return FerryError(
        f"S3 refused to delete it: {code} {message}".strip(),
        "Check that your IAM policy allows s3:DeleteObject.",
    )
