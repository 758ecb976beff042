"""The S3 store: the one place ferry sends requests to S3.

- Every request carries the SSE-C key when one is configured (put, multipart create,
  every part and complete, get, head, copy), and uploads carry the storage class.
- ``mode="create"`` is a conditional write (``If-None-Match: *``), for single puts and on
  multipart completion, so two writers can never both win.
- Large files go up in parts from a bounded pool that reads each part when it is sent
  (memory stays at ``workers x part size``). A failed or interrupted multipart upload is
  aborted, so it leaves no orphan parts. Downloads fetch ranges in parallel into a
  temporary file that is renamed into place; a small object costs one request.
- botocore exceptions are translated by :mod:`ferry.storage.s3_errors` and never escape.
"""

from __future__ import annotations

import builtins
import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import AlreadyExistsError, FerryError, MultiError, NotFoundError
from ferry.storage.base import BaseStore, Listing, ObjectInfo, PutMode, StoredObject, check_key
from ferry.storage.local import temp_path
from ferry.storage.names import parse_s3_url
from ferry.storage.s3_fast import FastConflict, FastPath, fast_path
from ferry.storage.s3_options import S3Options

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

    from ferry.storage.s3_errors import Operation

__all__ = ["S3Store"]

MiB = 1024 * 1024
_CHECKSUM_FIELDS = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")
_DELETE_BATCH = 1000  # S3's limit per DeleteObjects request


class S3Store(BaseStore):
    """Objects under ``s3://bucket/prefix``.

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix``.
        options: how to reach S3 (endpoint, region, SSE-C key, storage class, ...).
        client: a boto3 S3 client to use instead of building one from ``options``.
    """

    multipart_threshold = 16 * MiB
    part_size = 8 * MiB
    part_workers = 8
    inline_max = 1 * MiB  # files up to this size are read whole and sent in one request

    def __init__(
        self, url: str, options: S3Options | None = None, *, client: S3Client | None = None
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.options = options or S3Options()
        self._fast: FastPath | None = None
        self._given_client = client
        if client is None:
            keys = self.options.env_credentials()
            if keys is not None and self.options.region is not None:
                self._fast = fast_path(self.bucket, self.options, keys, self.options.region)
            else:
                region = self.options.region_for(self._session)
                self._fast = fast_path(self.bucket, self.options, self._session, region)
        self._sse: dict[str, Any] = self.options.sse_c.request_args() if self.options.sse_c else {}

    @cached_property
    def _client(self) -> S3Client:
        """The boto3 client, built on first use: a run the fast path serves never needs it
        (building one loads botocore's service model, ~70 ms)."""
        if self._given_client is not None:
            return self._given_client
        return self.options.client(self._session)

    @cached_property
    def _session(self) -> boto3.session.Session:
        return self.options.session()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def concurrency(self) -> int:
        return self.options.concurrency

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _full_prefix(self, prefix: str) -> str:
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _relative(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    @contextmanager
    def _translating(self, operation: Operation, key: str = "") -> Iterator[None]:
        try:
            yield
        except _boto_errors() as exc:
            from ferry.storage.s3_errors import Context, bucket_missing, translate

            ctx = Context(
                operation=operation,
                bucket=self.bucket,
                key=self._full_prefix(key) if key else self.prefix,
                endpoint=self.options.describe_endpoint(),
                sse_c=bool(self._sse),
                max_attempts=self.options.max_attempts,
            )
            error = translate(exc, ctx)
            if type(error) is NotFoundError and not self._bucket_exists():
                error = bucket_missing(ctx)
            raise error from exc

    def _bucket_exists(self) -> bool:
        """Tell a missing bucket from a missing key (asked only after a 404)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except _boto_errors() as exc:
            response = getattr(exc, "response", {})
            return bool(response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404)
        return True

    def check_bucket(self) -> None:
        """Raise a clear error now if the bucket is missing or not accessible."""
        with self._translating("list"):
            self._client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)

    # -- reads -------------------------------------------------------------------------

    def get_object(self, key: str) -> StoredObject:
        full = self._full(key)
        if self._fast is not None and self._fast.takes(full):
            try:
                data, etag, size, mtime, metadata = self._fast.get(full)
            except Exception:  # boto3 repeats the request below and reports any error
                pass
            else:
                info = ObjectInfo(key=key, size=size, etag=etag, mtime=mtime, metadata=metadata)
                return StoredObject(data, info)
        with self._translating("read", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._full(key), **self._sse)
            data = response["Body"].read()
        return StoredObject(data, _info(key, response))

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = temp_path(path)
        try:
            with open(temp, "wb") as out:
                info = self._download(key, out.fileno())
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        return info

    def _download(self, key: str, fd: int) -> ObjectInfo:
        """Fetch the first part; then, for a large object, the other parts in parallel.

        A small object costs one request. Later parts are asked for with ``If-Match`` on
        the first part's ETag, so an object replaced mid-download fails instead of
        producing a file spliced from two versions.
        """
        first = self._range(key, 0, self.part_size, None)
        first.write(fd, 0)
        starts = range(self.part_size, first.total, self.part_size)

        def fetch(start: int) -> None:
            end = min(start + self.part_size, first.total)
            self._range(key, start, end, first.etag).write(fd, start)

        with ThreadPoolExecutor(max_workers=self.part_workers) as pool:
            list(pool.map(fetch, starts))
        return ObjectInfo(
            key=key, size=first.total, etag=first.etag, mtime=first.mtime, metadata=first.metadata
        )

    def _range(self, key: str, start: int, end: int, etag: str | None) -> _Range:
        """Bytes ``start`` to ``end`` (exclusive): through the fast path when it can, else
        through boto3 (which also reports any error)."""
        full = self._full(key)
        if self._fast is not None and self._fast.takes(full):
            try:
                chunks, total, tag, mtime, metadata = self._fast.get_range(full, start, end, etag)
            except Exception:  # boto3 repeats the request below and reports any error
                pass
            else:
                return _Range(total, tag, mtime, metadata, chunks=chunks)
        response = self._get_range(key, start, end - 1, f'"{etag}"' if etag else None)
        return _Range(
            _total_size(response),
            response["ETag"].strip('"'),
            response["LastModified"],
            response.get("Metadata", {}),
            body=response["Body"],
        )

    def _get_range(self, key: str, start: int, end: int, etag: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key), **self._sse}
        if etag:
            args["IfMatch"] = etag
        with self._translating("read", key):
            try:
                return dict(self._client.get_object(Range=f"bytes={start}-{end}", **args))
            except _boto_errors() as exc:
                if getattr(exc, "response", {}).get("Error", {}).get("Code") != "InvalidRange":
                    raise
                return dict(self._client.get_object(**args))  # an empty object has no ranges

    def head(self, key: str) -> ObjectInfo:
        with self._translating("head", key):
            response = self._client.head_object(
                Bucket=self.bucket, Key=self._full(key), ChecksumMode="ENABLED", **self._sse
            )
        return _info(key, response)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = self._full_prefix(prefix)
        if (
            self._fast is not None
            and (not full or full.endswith("/"))
            and self._fast.takes(full or "x")
        ):
            listed = self._fast_list(full)
            if listed is not None:
                yield from listed
                return
        paginator = self._client.get_paginator("list_objects_v2")
        with self._translating("list", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full_prefix(prefix)):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=self._relative(item["Key"]),
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        mtime=item["LastModified"],
                    )

    def _fast_list(self, full: str) -> builtins.list[ObjectInfo] | None:
        """The listing through obstore, or None to take boto3's (which reports errors)."""
        assert self._fast is not None
        try:
            found = [
                ObjectInfo(
                    key=self._relative(item["path"]),
                    size=item["size"],
                    etag=(item["e_tag"] or "").strip('"'),
                    mtime=item["last_modified"],
                )
                for item in self._fast.list(full)
            ]
        except Exception:  # boto3 repeats the listing and reports any error
            return None
        # obstore drops the trailing '/' of "folder" marker objects ("dir/" becomes "dir"),
        # which then clash with the keys below them: let boto3 list those exactly.
        keys = {info.key for info in found}
        if any(
            info.size == 0 and any(k.startswith(info.key + "/") for k in keys) for info in found
        ):
            return None
        return found

    def ls(self, prefix: str = "") -> Listing:
        paginator = self._client.get_paginator("list_objects_v2")
        prefixes, objects = [], []
        with self._translating("list", prefix):
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=self._full_prefix(prefix), Delimiter="/"
            )
            for page in pages:
                prefixes += [self._relative(p["Prefix"]) for p in page.get("CommonPrefixes", [])]
                objects += [
                    ObjectInfo(
                        key=self._relative(item["Key"]),
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        mtime=item["LastModified"],
                    )
                    for item in page.get("Contents", [])
                ]
        return Listing(prefixes, objects)

    # -- writes ------------------------------------------------------------------------

    def _write_args(self, key: str, metadata: Mapping[str, str] | None) -> dict[str, Any]:
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            "StorageClass": self.options.storage_class,
            **self._sse,
        }
        if metadata:
            args["Metadata"] = dict(metadata)
        return args

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        full = self._full(key)
        data = bytes(data)
        tried_fast = False
        if self._fast is not None and self._fast.takes(full):
            try:
                etag = self._fast.put(full, data, create=mode == "create", metadata=metadata)
            except FastConflict:
                raise self._exists(key) from None
            except Exception:  # boto3 repeats the request below and reports any error
                tried_fast = True
            else:
                return _written(key, len(data), {"ETag": etag}, metadata)
        args = self._write_args(key, metadata)
        if mode == "create":
            args["IfNoneMatch"] = "*"
        try:
            with self._translating("write", key):
                response = self._client.put_object(Body=data, **args)
        except AlreadyExistsError:
            # The fast path failed after S3 may have applied its write (a lost answer): if
            # the object holds exactly our bytes, that write was ours and succeeded.
            if tried_fast and self._holds(key, data):
                return self.head(key)
            raise
        return _written(key, len(data), response, metadata)

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            return self.get(key) == data
        except FerryError:
            return False

    def _exists(self, key: str) -> FerryError:
        return AlreadyExistsError(
            f"An object already exists at s3://{self.bucket}/{self._full(key)}; ferry does not "
            "overwrite it.",
            "Choose another key, or delete the object first.",
        )

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        size = os.stat(path).st_size
        if size <= self.inline_max and self._fast is not None:
            # Small files go as one request through put(), and so through the fast path.
            return self.put(key, Path(path).read_bytes(), mode=mode, metadata=metadata)
        full = self._full(key)
        fast = self._fast
        if (
            size > self.inline_max
            and fast is not None
            and mode == "overwrite"
            and self.options.sse_c is None
            and fast.takes(full)
        ):
            try:
                etag = fast.put_file(
                    full,
                    Path(path),
                    metadata=metadata,
                    part_size=self.part_size,
                    workers=self.part_workers,
                )
            except Exception:  # boto3 repeats the upload below and reports any error
                self._abort_uploads_of(key)  # obstore may leave its parts behind
            else:
                return _written(key, size, {"ETag": etag}, metadata)
        if size > self.multipart_threshold:
            return self._put_multipart(key, Path(path), size, mode, metadata)
        args = self._write_args(key, metadata)
        if mode == "create":
            args["IfNoneMatch"] = "*"
        with open(path, "rb") as body, self._translating("write", key):
            response = self._client.put_object(Body=body, **args)
        return _written(key, size, response, metadata)

    def _put_multipart(
        self, key: str, path: Path, size: int, mode: PutMode, metadata: Mapping[str, str] | None
    ) -> ObjectInfo:
        args = self._write_args(key, metadata)
        with self._translating("write", key):
            upload_id = self._client.create_multipart_upload(ChecksumAlgorithm="CRC32", **args)[
                "UploadId"
            ]
        try:
            parts = self._upload_parts(key, path, size, upload_id)
            complete: dict[str, Any] = {
                "Bucket": self.bucket,
                "Key": args["Key"],
                "UploadId": upload_id,
                "MultipartUpload": {"Parts": parts},
                **self._sse,
            }
            if mode == "create":
                complete["IfNoneMatch"] = "*"
            with self._translating("write", key):
                response = self._client.complete_multipart_upload(**complete)
        except BaseException:
            self._abort(args["Key"], upload_id)
            raise
        return _written(key, size, response, metadata)

    def _upload_parts(
        self, key: str, path: Path, size: int, upload_id: str
    ) -> builtins.list[dict[str, Any]]:
        part_size = max(self.part_size, math.ceil(size / 10_000))
        count = math.ceil(size / part_size)

        def send(number: int) -> dict[str, Any]:
            start = (number - 1) * part_size
            body = FileRange(path, start, min(part_size, size - start))
            with body, self._translating("write", key):
                response = self._client.upload_part(
                    Bucket=self.bucket,
                    Key=self._full(key),
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,  # type: ignore[arg-type]  # a seekable binary stream
                    ChecksumAlgorithm="CRC32",
                    **self._sse,
                )
            part = {"PartNumber": number, "ETag": response["ETag"]}
            if response.get("ChecksumCRC32"):
                part["ChecksumCRC32"] = response["ChecksumCRC32"]
            return part

        with ThreadPoolExecutor(max_workers=self.part_workers) as pool:
            return list(pool.map(send, range(1, count + 1)))

    def _abort(self, full_key: str, upload_id: str) -> None:
        # The original error matters more than a failed abort.
        with suppress(*_boto_errors()):
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id
            )

    def copy(self, source_key: str, dest_key: str) -> ObjectInfo:
        """Copy an object within this store, server-side (single request, up to 5 GiB)."""
        args = self._write_args(dest_key, None)
        source = {"Bucket": self.bucket, "Key": self._full(source_key)}
        extra = self.options.sse_c.copy_source_args() if self.options.sse_c else {}
        with self._translating("write", dest_key):
            self._client.copy_object(CopySource=source, **args, **extra)  # type: ignore[arg-type]
        return self.head(dest_key)

    def delete(self, keys: Iterable[str]) -> None:
        full = [self._full(k) for k in keys]
        failures: builtins.list[tuple[str, BaseException]] = []
        for start in range(0, len(full), _DELETE_BATCH):
            batch: builtins.list[Any] = [{"Key": k} for k in full[start : start + _DELETE_BATCH]]
            with self._translating("delete"):
                response = self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            for error in response.get("Errors", []):
                failures.append((self._relative(error.get("Key", "")), _delete_error(dict(error))))
        if failures:
            raise MultiError(f"Deleting from {self.url}", failures)

    def _abort_uploads_of(self, key: str) -> None:
        for found, upload_id in self.list_incomplete_uploads(key):
            if found == key:
                self._abort(self._full(key), upload_id)

    def abort_incomplete_uploads(self, prefix: str = "", since: datetime | None = None) -> int:
        """Abort multipart uploads begun under ``prefix`` (after ``since``, if given) and
        never finished, as a killed process leaves them: invisible, but S3 bills their
        parts. The count aborted."""
        uploads = [
            (k, i)
            for k, i, started in self._incomplete(prefix)
            if since is None or started >= since
        ]
        for key, upload_id in uploads:
            self._abort(self._full(key), upload_id)
        return len(uploads)

    def list_incomplete_uploads(self, prefix: str = "") -> builtins.list[tuple[str, str]]:
        """(key, upload id) of multipart uploads begun under ``prefix`` and never finished."""
        return [(key, upload_id) for key, upload_id, _ in self._incomplete(prefix)]

    def _incomplete(self, prefix: str) -> builtins.list[tuple[str, str, datetime]]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        found = []
        with self._translating("list", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full_prefix(prefix)):
                found += [
                    (self._relative(u["Key"]), u["UploadId"], u["Initiated"])
                    for u in page.get("Uploads", [])
                ]
        return found


def _boto_errors() -> tuple[type[Exception], ...]:
    """botocore's exception types, imported only when an exception needs them: a run the
    fast path serves never imports botocore (~0.2 s)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def _delete_error(error: Mapping[str, Any]) -> FerryError:
    return FerryError(
        f"S3 refused to delete it: {error.get('Code')} {error.get('Message', '')}".strip(),
        "Check that your IAM policy allows s3:DeleteObject.",
    )


class FileRange(io.RawIOBase):
    """A seekable, read-only view of ``length`` bytes of a file from ``start``.

    botocore reads it to checksum a part, seeks back, and streams it to the socket, so a
    part in flight costs a read buffer, not the whole part in memory.
    """

    def __init__(self, path: Path, start: int, length: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._start, self._length, self._pos = start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._length - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._file.fileno(), want, self._start + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self._length

    def close(self) -> None:
        self._file.close()
        super().close()


@dataclass(frozen=True)
class _Range:
    """Part of an object: chunks from the fast path, or a boto3 streaming body."""

    total: int
    etag: str
    mtime: datetime
    metadata: Mapping[str, str]
    chunks: Iterator[Any] | None = None
    body: Any = None

    def write(self, fd: int, offset: int) -> None:
        """Write the part at ``offset``, a chunk at a time (constant memory)."""
        if self.chunks is None:
            _write_stream(self.body, fd, offset)
            return
        for chunk in self.chunks:
            view = memoryview(chunk)
            os.pwrite(fd, view, offset)
            offset += len(view)


def _total_size(response: Mapping[str, Any]) -> int:
    """The whole object's size, from a ranged answer's Content-Range ("bytes 0-9/1234")."""
    content_range = response.get("ContentRange")
    if content_range:
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


def _write_stream(body: Any, fd: int, offset: int) -> None:
    """Copy a streaming body into ``fd`` at ``offset`` in 1 MiB chunks (constant memory)."""
    for chunk in body.iter_chunks(MiB):
        os.pwrite(fd, chunk, offset)
        offset += len(chunk)


def _checksum(response: Mapping[str, Any]) -> str | None:
    for name in _CHECKSUM_FIELDS:
        value = response.get(f"Checksum{name}")
        if value:
            kind = response.get("ChecksumType", "")
            suffix = "/composite" if kind == "COMPOSITE" else ""
            return f"{name.lower()}{suffix}:{value}"
    return None


def _info(key: str, response: Mapping[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=response["ContentLength"],
        etag=response["ETag"].strip('"'),
        mtime=response["LastModified"],
        checksum=_checksum(response),
        metadata=response.get("Metadata", {}),
    )


def _written(
    key: str, size: int, response: Mapping[str, Any], metadata: Mapping[str, str] | None
) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=size,
        etag=response["ETag"].strip('"'),
        mtime=datetime.now(UTC),
        checksum=_checksum(response),
        metadata=dict(metadata or {}),
    )
