"""Every S3 option, owned in one place: endpoint, region, profile, retries, concurrency,
storage class and the SSE-C customer key.

The SSE-C key is held by :class:`SseCKey`, whose ``repr`` and ``str`` are redacted; ferry
never logs, prints, raises or writes it. Because botocore's debug logs print request
headers (the key among them, base64-encoded), :func:`SseCKey.redact_logs` puts a filter on
the botocore, s3transfer and urllib3 loggers that replaces the key wherever it appears.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.aws import AwsOptions, StaticCredentials, check_region
from ferry.config import Settings
from ferry.errors import ConfigError
from ferry.storage.base import local_errors

if TYPE_CHECKING:
    import logging

    import boto3
    from mypy_boto3_s3 import S3Client

__all__ = ["RedactedArgs", "S3Options", "SseCKey"]

_LOG_FAMILIES = ("botocore", "boto3", "s3transfer", "urllib3")
_SECRET_ARGS = frozenset({"SSECustomerKey", "CopySourceSSECustomerKey", "sse_customer_key_base64"})


class RedactedArgs(dict[str, Any]):
    """Request arguments that may carry the key, shown with the key redacted: a traceback
    that prints local variables, or a log line, never shows it."""

    def __repr__(self) -> str:
        shown = (
            f"{k!r}: {'<redacted>' if k in _SECRET_ARGS else repr(v)}" for k, v in self.items()
        )
        return "{" + ", ".join(shown) + "}"

    __str__ = __repr__


class SseCKey:
    """A 256-bit customer-provided key for SSE-C, sent on every request that needs it."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigError(
                f"The SSE-C key is {len(key)} bytes long; it must be 32 bytes (256 bits).",
                "Make one with: openssl rand -base64 32",
            )
        self._key = key

    @classmethod
    def from_text(cls, text: str, origin: str) -> SseCKey:
        """A key written as base64 (``openssl rand -base64 32``) or as 64 hex digits."""
        text = text.strip()
        try:
            raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            raise ConfigError(
                f"The SSE-C key from {origin} is neither base64 nor 64 hex digits.",
                "Make one with: openssl rand -base64 32",
            ) from None
        return cls(raw)

    @classmethod
    def from_file(cls, path: str | Path) -> SseCKey:
        """Read a key file, refusing one that other users can read."""
        path = Path(path).expanduser()
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(
                f"SSE-C key file {path} does not exist.", "Check the 'sse_c_key_file' setting."
            ) from None
        if stat.S_ISDIR(mode):
            raise ConfigError(
                f"SSE-C key file {path} is a folder, not a key file.",
                "Point 'sse_c_key_file' at the file that holds the key.",
            )
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"SSE-C key file {path} can be read by other users (mode {mode & 0o777:o}).",
                f"Restrict it: chmod 600 {path}",
            )
        with local_errors(path, "read"):
            data = path.read_bytes()
        if len(data) == 32:
            return cls(data)
        return cls.from_text(data.decode("ascii", errors="replace"), str(path))

    def base64(self) -> str:
        """The key as base64, for clients that take it that way (never log it)."""
        return base64.b64encode(self._key).decode()

    def request_args(self) -> RedactedArgs:
        """Arguments for put, get, head, multipart create and every part."""
        return RedactedArgs(SSECustomerAlgorithm="AES256", SSECustomerKey=self._key)

    def copy_source_args(self) -> RedactedArgs:
        """Arguments naming the key of a copy's source object."""
        return RedactedArgs(
            CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=self._key
        )

    def fingerprint(self) -> str:
        """A short digest that names the key without revealing it (kept in sync state)."""
        return self._id()

    def secrets(self) -> list[str]:
        """Every text form of the key that a log line could contain."""
        return [base64.b64encode(self._key).decode(), self._key.hex(), repr(self._key)]

    def redact_logs(self) -> None:
        """Filter the key out of every botocore/s3transfer/urllib3 logger that exists now."""
        import logging  # here: a sync without a key never logs, and it costs ~2 ms a start

        manager = logging.Logger.manager
        names = [n for n in manager.loggerDict if n.split(".")[0] in _LOG_FAMILIES]
        for name in {*names, *_LOG_FAMILIES}:
            logger = logging.getLogger(name)
            if not any(isinstance(f, _Redactor) and f.key is self for f in logger.filters):
                logger.addFilter(_Redactor(self))

    def _id(self) -> str:
        import hashlib  # here: importing it costs ~2 ms at every start, and few use SSE-C

        return hashlib.sha256(self._key).hexdigest()[:16]

    def __repr__(self) -> str:
        return "SseCKey(<redacted>)"

    __str__ = __repr__


class _Redactor:
    """Replaces the key in log records; holds the key object, never a copy of its text.
    (A logger takes any object with a ``filter`` method.)"""

    def __init__(self, key: SseCKey) -> None:
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        secrets = self.key.secrets()
        if any(secret in message for secret in secrets):
            for secret in secrets:
                message = message.replace(secret, "<redacted>")
            record.msg, record.args = message, ()
        return True


@dataclass(frozen=True)
class S3Options:
    """How to reach S3 and what to send with every object.

    Args:
        endpoint_url: an S3-compatible endpoint (a local server, MinIO, ...); AWS if None.
        region: a region code such as ``eu-central-1``; place names are refused with the code.
        profile: a profile from ``~/.aws/config``.
        storage_class: the storage class of uploaded objects.
        sse_c: the customer key for SSE-C, or None for no SSE-C.
        max_attempts: attempts per request, with botocore's standard exponential backoff.
        concurrency: how many requests run at once (thread pool and connection pool size).
        fast: route to obstore what it does right (see :mod:`ferry.storage.s3.via_obstore`);
            False sends every request through boto3.
        part_size: bytes per part of a multipart upload and per ranged GET of a download.
        part_workers: parts of one file in flight at once.
        whole_read: a download of an object a listing said is at most this size is one
            GET; larger ones are read in ``part_size`` ranges, ``part_workers`` at once.
        multipart_threshold: files above this size are uploaded in parts; those up to it in
            one request (read whole: fewer requests, and a part costs a server more than a
            PUT of the same bytes; s5cmd sends up to 50 MiB in one request, rclone 200 MiB).
        copy_threshold: server-side copies above this size go in parts (S3: 5 GiB at most).
        copy_part_size: bytes per part of a multipart copy.
        credentials: explicit keys instead of the credential chain (rarely needed).
        anonymous: send requests unsigned, needing no credentials: a public bucket's
            objects (s3fs's and rubicon-ml's ``anon=True``).
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    storage_class: str = "INTELLIGENT_TIERING"
    sse_c: SseCKey | None = None
    max_attempts: int = 8
    concurrency: int = 32
    fast: bool = True
    part_size: int = 8 * 1024 * 1024
    part_workers: int = 8
    whole_read: int = 32 * 1024 * 1024
    multipart_threshold: int = 64 * 1024 * 1024
    copy_threshold: int = 5 * 1024**3
    copy_part_size: int = 512 * 1024 * 1024
    credentials: StaticCredentials | None = None
    anonymous: bool = False

    def __post_init__(self) -> None:
        if self.region is not None:
            check_region(self.region)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        """Build the options from resolved settings (the key from its env var or file)."""
        key = None
        if settings.sse_c_key:
            key = SseCKey.from_text(
                settings.sse_c_key.reveal(), settings.sources.get("sse_c_key", "")
            )
        elif settings.sse_c_key_file:
            key = SseCKey.from_file(settings.sse_c_key_file)
        return cls(
            endpoint_url=settings.endpoint_url,
            region=settings.region,
            profile=settings.profile,
            storage_class=settings.storage_class,
            sse_c=key,
            max_attempts=settings.max_attempts,
            concurrency=settings.concurrency,
            anonymous=settings.no_sign_request,
        )

    def env_credentials(self) -> dict[str, str] | None:
        """The standard key variables, when set and no profile is named: the fast path can
        then sign requests without loading boto3 (which would find the same keys first)."""
        if self.credentials is not None:
            given = {
                "access_key_id": self.credentials.access_key_id,
                "secret_access_key": self.credentials.secret_access_key,
            }
            return given | ({"token": self.credentials.token} if self.credentials.token else {})
        if self.profile is not None:
            return None
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not (key and secret):
            return None
        credentials = {"access_key_id": key, "secret_access_key": secret}
        if os.environ.get("AWS_SESSION_TOKEN"):
            credentials["token"] = os.environ["AWS_SESSION_TOKEN"]
        return credentials

    def aws(self) -> AwsOptions:
        """The AWS connection options these S3 options imply (see :mod:`ferry.aws`)."""
        endpoints = {"s3": self.endpoint_url} if self.endpoint_url else {}
        return AwsOptions(self.region, self.profile, self.max_attempts, endpoints, self.credentials)

    def session(self) -> boto3.session.Session:
        """A boto3 session for the configured profile (credentials come from its chain)."""
        return self.aws().session()

    def region_for(self, session: boto3.session.Session) -> str:
        """The region: configured, else the profile's, else us-east-1."""
        return self.aws().region_for(session)

    def client(self, session: boto3.session.Session | None = None) -> S3Client:
        """A thread-safe boto3 S3 client configured from these options."""
        client: S3Client = self.aws().client(
            "s3",
            session=session,
            max_pool_connections=self.concurrency + 4,
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            # requests are SigV4 anyway; this makes presigned URLs SigV4 too (botocore would
            # presign with SigV2 in us-east-1, which newer buckets and regions refuse)
            signature_version=_unsigned() if self.anonymous else "s3v4",
        )
        if self.sse_c is not None:
            self.sse_c.redact_logs()
        return client

    def describe_endpoint(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region or 'your default region'})"


def _unsigned() -> Any:
    from botocore import UNSIGNED

    return UNSIGNED
