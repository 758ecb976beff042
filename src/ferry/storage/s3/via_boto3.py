"""The boto3 transport: every S3 operation ferry uses, with botocore's errors translated.

It alone can send an SSE-C multipart upload (the key on every part and on the completing
request), a create-only multipart upload (``If-None-Match`` on completion), batch deletes,
server-side copies and multipart housekeeping; :class:`~ferry.storage.s3.S3Store` routes
those here, and everything else too when obstore is switched off. The client is built on
first use: a run that obstore fully serves never imports botocore (~0.25 s).
"""

from __future__ import annotations

import builtins
import io
import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import AccessDeniedError, AlreadyExistsError, NotFoundError
from ferry.storage.s3.errors import Context, Operation, from_botocore, guard, translating
from ferry.storage.s3.options import RedactedArgs
from ferry.storage.s3.transport import Body, CopySource, Listed, Meta, Upload

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

    from ferry.storage.s3.options import S3Options

__all__ = ["Boto3Transport", "FileRange"]

MiB = 1024 * 1024
_CHECKSUM_FIELDS = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")
_DELETE_BATCH = 1000  # S3's limit per DeleteObjects request


class Boto3Transport:
    """boto3's S3 client for one bucket.

    Args:
        bucket: the bucket.
        options: endpoint, region, SSE-C key, storage class, attempts, concurrency.
        session: the boto3 session (credentials); built from ``options`` when omitted.
        client: a ready client to use instead.
    """

    name = "boto3"

    def __init__(
        self,
        bucket: str,
        options: S3Options,
        session: boto3.session.Session | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self._options = options
        self._session = session
        self._given_client = client
        self._sse = options.sse_c.request_args() if options.sse_c else RedactedArgs()

    @cached_property
    def client(self) -> S3Client:
        if self._given_client is not None:
            return self._given_client
        return self._options.client(self._session)

    def _ctx(self, operation: Operation, key: str) -> Context:
        return Context(
            operation=operation,
            bucket=self.bucket,
            key=key,
            endpoint=self._options.describe_endpoint(),
            sse_c=bool(self._sse),
            max_attempts=self._options.max_attempts,
        )

    def _args(self, *, sse: bool = True, **args: Any) -> RedactedArgs:
        """A request's arguments with the bucket and (``sse``) the SSE-C key. Kept in a
        :class:`RedactedArgs`: no plain copy of the key sits in a frame of ferry's."""
        found = RedactedArgs(Bucket=self.bucket, **args)
        if sse:
            found.update(self._sse)
        return found

    def _call(self, operation: Operation, key: str, method: str, args: RedactedArgs) -> Any:
        with translating(self._ctx(operation, key), from_botocore):
            return getattr(self.client, method)(**args)

    # -- reads ------------------------------------------------------------------------

    def get(
        self, key: str, byte_range: tuple[int, int] | None = None, if_match: str | None = None
    ) -> Body:
        args = self._args(Key=key)
        if if_match:
            args["IfMatch"] = f'"{if_match}"'
        ctx = self._ctx("read", key)
        with translating(ctx, from_botocore):
            response = self._ranged(args, byte_range)
        body = response["Body"]
        chunks = guard(iter(body.iter_chunks(MiB)), ctx, from_botocore)
        return Body(_meta(response, _total_size(response)), chunks)

    def _ranged(self, args: dict[str, Any], byte_range: tuple[int, int] | None) -> Any:
        from botocore.exceptions import ClientError

        if byte_range is None:
            return self.client.get_object(**args)
        start, end = byte_range
        try:
            return self.client.get_object(**RedactedArgs(args, Range=f"bytes={start}-{end - 1}"))
        except ClientError as exc:
            if start != 0 or exc.response.get("Error", {}).get("Code") != "InvalidRange":
                raise
            # An empty object has no byte 0: the range was unsatisfiable, not the read.
            return self.client.get_object(**args)

    def head(self, key: str) -> Meta:
        response = self._call(
            "head", key, "head_object", self._args(Key=key, ChecksumMode="ENABLED")
        )
        return _meta(response, response["ContentLength"])

    # -- writes -----------------------------------------------------------------------

    def _write_args(self, key: str, metadata: Mapping[str, str] | None) -> RedactedArgs:
        args = self._args(Key=key, StorageClass=self._options.storage_class)
        if metadata:
            args["Metadata"] = dict(metadata)
        return args

    def put(
        self, key: str, data: bytes, *, create: bool, metadata: Mapping[str, str] | None
    ) -> Meta:
        args = self._write_args(key, metadata)
        if create:
            args["IfNoneMatch"] = "*"
        args["Body"] = data
        response = self._call("write", key, "put_object", args)
        return _written(response, len(data), metadata)

    def put_file(
        self,
        key: str,
        path: Path,
        size: int,
        *,
        create: bool,
        metadata: Mapping[str, str] | None,
        progress: Callable[[int], None] | None = None,
    ) -> Meta:
        """Multipart upload from the file, parts read as they are sent (memory stays at
        ``part_workers x part_size``); aborted if anything fails, so no orphan parts."""
        args = self._write_args(key, metadata)
        args["ChecksumAlgorithm"] = "CRC32"
        upload_id = self._call("write", key, "create_multipart_upload", args)["UploadId"]
        try:
            parts = self._upload_parts(key, path, size, upload_id, progress)
            complete = self._args(Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
            if create:
                complete["IfNoneMatch"] = "*"
            response = self._call("write", key, "complete_multipart_upload", complete)
        except BaseException:
            self.abort(key, upload_id)
            raise
        return _written(response, size, metadata)

    def _upload_parts(
        self,
        key: str,
        path: Path,
        size: int,
        upload_id: str,
        progress: Callable[[int], None] | None,
    ) -> list[Any]:
        part_size = max(self._options.part_size, math.ceil(size / 10_000))
        count = math.ceil(size / part_size)

        def send(number: int) -> dict[str, Any]:
            start = (number - 1) * part_size
            with FileRange(path, start, min(part_size, size - start)) as body:
                args = self._args(
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                    ChecksumAlgorithm="CRC32",
                )
                response = self._call("write", key, "upload_part", args)
            part = {"PartNumber": number, "ETag": response["ETag"]}
            if response.get("ChecksumCRC32"):
                part["ChecksumCRC32"] = response["ChecksumCRC32"]
            if progress is not None:
                progress(min(part_size, size - start))
            return part

        from concurrent.futures import ThreadPoolExecutor  # here: ~4 ms a start otherwise

        with ThreadPoolExecutor(max_workers=self._options.part_workers) as pool:
            return list(pool.map(send, range(1, count + 1)))

    def copy(self, source: CopySource, dest: str) -> Meta:
        if source.size > self._options.copy_threshold:
            return self._copy_in_parts(source, dest)
        args = self._write_args(dest, None)
        args.update(
            CopySource={"Bucket": source.bucket, "Key": source.key}, MetadataDirective="COPY"
        )
        if source.sse_c is not None:
            args.update(source.sse_c.copy_source_args())
        response = self._call("write", dest, "copy_object", args)
        result = response.get("CopyObjectResult", {})
        return Meta(source.size, str(result.get("ETag", "")).strip('"'), datetime.now(UTC))

    def _copy_in_parts(self, source: CopySource, dest: str) -> Meta:
        """A multipart copy, parts read server-side in parallel; aborted if it fails."""
        args = self._write_args(dest, source.metadata)
        upload_id = self._call("write", dest, "create_multipart_upload", args)["UploadId"]
        part = max(self._options.copy_part_size, math.ceil(source.size / 10_000))

        def send(number: int) -> dict[str, Any]:
            start = (number - 1) * part
            end = min(start + part, source.size) - 1
            request = self._args(
                Key=dest,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": source.bucket, "Key": source.key},
                CopySourceRange=f"bytes={start}-{end}",
            )
            if source.sse_c is not None:
                request.update(source.sse_c.copy_source_args())
            answer = self._call("write", dest, "upload_part_copy", request)
            return {"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]}

        try:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=self._options.part_workers) as pool:
                parts = list(pool.map(send, range(1, math.ceil(source.size / part) + 1)))
            done = self._args(Key=dest, UploadId=upload_id, MultipartUpload={"Parts": parts})
            response = self._call("write", dest, "complete_multipart_upload", done)
        except BaseException:
            self.abort(dest, upload_id)
            raise
        return _written(response, source.size, source.metadata)

    # -- listings and housekeeping ----------------------------------------------------

    def list(self, prefix: str) -> Iterator[Listed]:
        return self.list_any(prefix)

    def list_any(self, prefix: str) -> Iterator[Listed]:
        ctx = self._ctx("list", prefix)
        with translating(ctx, from_botocore):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in guard(iter(pages), ctx, from_botocore):
                yield from (_listed(item) for item in page.get("Contents", []))

    def list_level(self, prefix: str) -> tuple[builtins.list[str], builtins.list[Listed]]:
        prefixes: builtins.list[str] = []
        objects: builtins.list[Listed] = []
        with translating(self._ctx("list", prefix), from_botocore):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
                objects += [_listed(item) for item in page.get("Contents", [])]
        return prefixes, objects

    def delete(self, keys: builtins.list[str]) -> builtins.list[tuple[str, str, str]]:
        refused = []
        for start in range(0, len(keys), _DELETE_BATCH):
            batch: list[Any] = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            args = self._args(sse=False, Delete={"Objects": batch, "Quiet": True})
            response = self._call("delete", "", "delete_objects", args)
            refused += [
                (str(e.get("Key", "")), str(e.get("Code", "")), str(e.get("Message", "")))
                for e in response.get("Errors", [])
            ]
        return refused

    def uploads(self, prefix: str) -> builtins.list[Upload]:
        found = []
        with translating(self._ctx("list", prefix), from_botocore):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                found += [
                    Upload(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", [])
                ]
        return found

    def abort(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # The original error matters more than a failed abort.
        with suppress(BotoCoreError, ClientError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def make_bucket(self, region: str) -> None:
        """Create the bucket in ``region`` (us-east-1 takes no location constraint)."""
        try:  # us-east-1 answers 200 to creating a bucket you own: ask first
            self._call("read", "", "head_bucket", self._args(sse=False))
        except (NotFoundError, AccessDeniedError):
            pass  # missing, or not yours: creating it says which (errors.py words both)
        else:
            raise AlreadyExistsError(
                f"Bucket {self.bucket!r} already exists and is yours.", "Use it as it is."
            )
        args = self._args(sse=False)
        if region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self._call("write", "", "create_bucket", args)

    def remove_bucket(self) -> None:
        """Delete the (empty) bucket."""
        self._call("delete", "", "delete_bucket", self._args(sse=False))

    def presign(self, key: str, seconds: int) -> str:
        """A URL that lets anyone GET ``key`` for ``seconds``."""
        with translating(self._ctx("read", key), from_botocore):
            return str(
                self.client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": key},
                    ExpiresIn=seconds,
                )
            )

    def check(self, prefix: str) -> None:
        """Raise the ferry error now if the bucket cannot be listed (missing, denied)."""
        self._call(
            "list", prefix, "list_objects_v2", self._args(sse=False, Prefix=prefix, MaxKeys=1)
        )

    def bucket_exists(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return bool(status != 404)
        except BotoCoreError:
            return True  # unknown: do not claim the bucket is missing
        return True


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


def _total_size(response: Mapping[str, Any]) -> int:
    """The whole object's size, from a ranged answer's Content-Range ("bytes 0-9/1234")."""
    content_range = response.get("ContentRange")
    if content_range:
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


def _checksum(response: Mapping[str, Any]) -> str | None:
    for name in _CHECKSUM_FIELDS:
        value = response.get(f"Checksum{name}")
        if value:
            kind = response.get("ChecksumType", "")
            suffix = "/composite" if kind == "COMPOSITE" else ""
            return f"{name.lower()}{suffix}:{value}"
    return None


def _meta(response: Mapping[str, Any], size: int) -> Meta:
    return Meta(
        size=size,
        etag=str(response["ETag"]).strip('"'),
        mtime=response["LastModified"],
        metadata=response.get("Metadata", {}),
        checksum=_checksum(response),
    )


def _listed(item: Mapping[str, Any]) -> Listed:
    return Listed(item["Key"], item["Size"], str(item["ETag"]).strip('"'), item["LastModified"])


def _written(response: Mapping[str, Any], size: int, metadata: Mapping[str, str] | None) -> Meta:
    return Meta(
        size,
        str(response["ETag"]).strip('"'),
        datetime.now(UTC),
        dict(metadata or {}),
        _checksum(response),
    )
