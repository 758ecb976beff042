"""S3's failures in ferry's words: the one place either transport's errors are translated.

Both transports reduce a failure to the same three facts, then to one ferry error:
the HTTP status, S3's error code and its message. boto3 gives them in ``ClientError``;
obstore in its message text (``... status code: 404 Not Found: <Error><Code>NoSuchKey...``).
What every AWS service shares (no credentials, unreachable endpoint, broken connection,
throttling) comes from :func:`ferry.aws.translate`; this module adds what is S3's own:
missing buckets and keys, conditional writes, SSE-C, storage classes, regions.

Errors raised while a response body streams (a truncated answer, a reset connection) are
translated too: :func:`guard` wraps the chunk iterator, as httpx wraps its stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

from ferry import aws
from ferry.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BucketNotFoundError,
    ConfigError,
    CredentialsError,
    EncryptionError,
    EndpointError,
    FerryError,
    InterruptedTransferError,
    NotEncryptedError,
    NotFoundError,
    ThrottledError,
)

__all__ = ["Context", "from_botocore", "from_obstore", "guard", "translating"]

Operation = Literal["read", "write", "list", "delete", "head"]
T = TypeVar("T")

_ALLOW_SSE_C = (
    "aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration "
    '\'{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"AES256"}},'
    '"BlockedEncryptionTypes":{{"EncryptionType":["NONE"]}}}}]}}\''
)
_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


@dataclass(frozen=True)
class Context:
    """What was being done when the error happened."""

    operation: Operation
    bucket: str
    key: str = ""
    endpoint: str = ""
    sse_c: bool = False
    max_attempts: int = 0

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    @property
    def doing(self) -> str:
        verb = {"read": "reading", "head": "reading", "write": "writing", "list": "listing"}
        return f"{verb.get(self.operation, 'deleting')} {self.where}"


@contextmanager
def translating(
    ctx: Context, translate: Callable[[Exception, Context], FerryError]
) -> Iterator[None]:
    """Raise the ferry error for any exception the block raises (ferry errors pass)."""
    try:
        yield
    except FerryError:
        raise
    except Exception as exc:
        raise translate(exc, ctx) from exc


def guard(
    chunks: Iterator[T], ctx: Context, translate: Callable[[Exception, Context], FerryError]
) -> Iterator[T]:
    """``chunks``, with an error raised mid-stream translated like any other; a broken
    connection there is an :class:`InterruptedTransferError` (the endpoint did answer)."""
    try:
        yield from chunks
    except FerryError:
        raise
    except Exception as exc:
        error = translate(exc, ctx)
        if type(error) is EndpointError:
            error = InterruptedTransferError(error.problem, error.fix)
        raise error from exc


# -- boto3 ------------------------------------------------------------------------------


def from_botocore(exc: Exception, ctx: Context) -> FerryError:
    """The ferry error for a botocore exception (or one raised while a body streamed)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        translated = s3_error(aws.error_code(exc), aws.http_status(exc), _message_of(exc), ctx)
        if translated is not None:
            return translated
    if _is_stream_break(exc):
        return _broken(ctx)
    return aws.translate(
        exc, service="S3", doing=ctx.doing, endpoint=ctx.endpoint, attempts=ctx.max_attempts
    )


def _message_of(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", ""))


def _is_stream_break(exc: BaseException) -> bool:
    name = type(exc).__name__
    return isinstance(exc, ConnectionError) or name in {
        "IncompleteReadError",
        "ProtocolError",
        "ResponseStreamingError",
        "IncompleteRead",
    }


# -- obstore ----------------------------------------------------------------------------


def from_obstore(exc: Exception, ctx: Context) -> FerryError:
    """The ferry error for an obstore exception: its status and S3's code are read from
    its message; a request that never got an answer is an endpoint problem."""
    from obstore.exceptions import AlreadyExistsError as Exists
    from obstore.exceptions import PreconditionError

    text = str(exc)
    if isinstance(exc, Exists | PreconditionError) and ctx.operation == "write":
        return _exists(ctx)
    status_found, code_found = _STATUS.search(text), _CODE.search(text)
    status = int(status_found.group(1)) if status_found else 0
    code = code_found.group(1) if code_found else ""
    if isinstance(exc, FileNotFoundError) and not status:
        status = 404
    if isinstance(exc, PreconditionError) and not status:
        status = 412
    if status:
        message = _MESSAGE.search(text)
        translated = s3_error(code, status, message.group(1) if message else "", ctx)
        if translated is not None:
            return translated
        return _refused(code or str(status), "", ctx)
    if "body error" in text or "Interrupted" in text or "reset" in text.lower():
        return _broken(ctx)
    if "error sending request" in text or "connect" in text.lower() or "timed out" in text:
        return aws.unreachable("S3", ctx.endpoint)
    first_line = text.split("\n", 1)[0]
    return FerryError(f"S3 request failed while {ctx.doing}: {first_line}", "Run it again.")


# -- what S3's answers mean -------------------------------------------------------------


def s3_error(code: str, status: int, message: str, ctx: Context) -> FerryError | None:
    """S3's own meaning of an answer, or None to fall back to the generic translation."""
    if code == "NoSuchBucket":
        return bucket_missing(ctx)
    if code in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
        whose = "yours" if code == "BucketAlreadyOwnedByYou" else "someone else's"
        return AlreadyExistsError(
            f"Bucket {ctx.bucket!r} already exists ({whose}).",
            "Use it, or choose another name (bucket names are global).",
        )
    if code == "BucketNotEmpty":
        return ConfigError(
            f"Bucket {ctx.bucket!r} is not empty.",
            f"Empty it first (ferry rm -r s3://{ctx.bucket}/), or: ferry rb --force "
            f"s3://{ctx.bucket}",
        )
    if code in {"NoSuchKey", "NoSuchUpload", "NotFound"} or status == 404:
        return NotFoundError(f"No object at {ctx.where}.", "Check the key (list with 'ferry ls').")
    if (code == "PreconditionFailed" or status == 412) and ctx.operation == "read":
        return FerryError(
            f"{ctx.where} was replaced while it was being read.",
            "Run the command again to read the new version.",
        )
    if code in {"PreconditionFailed", "ConditionalRequestConflict"} or status == 412:
        return _exists(ctx)
    if code in aws.THROTTLE_CODES or status == 503:
        return ThrottledError(
            f"S3 kept throttling requests on {ctx.where} ({code or status}) after "
            f"{ctx.max_attempts} attempts.",
            "Lower the concurrency (FERRY_CONCURRENCY) or wait a minute and run it again.",
        )
    if code in aws.CREDENTIAL_CODES:
        return CredentialsError(
            f"S3 rejected your AWS credentials ({code}).",
            "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or run 'aws configure' again.",
        )
    if code in {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraint"}:
        return ConfigError(
            f"Bucket {ctx.bucket!r} is in another region than the one configured ({message}).",
            "Set the bucket's region (region=... or FERRY_REGION).",
        )
    if code == "InvalidStorageClass":
        return ConfigError(
            f"S3 refused the storage class for {ctx.where}: {message}",
            "Set storage_class to STANDARD or INTELLIGENT_TIERING.",
        )
    sse = _sse_c_error(code, message, status, ctx)
    if sse is not None:
        return sse
    if code == "AccessDenied" or status == 403:
        return _access_denied(ctx)
    if status >= 400 and code:
        return _refused(code, message, ctx)
    return None


def _refused(code: str, message: str, ctx: Context) -> FerryError:
    return FerryError(
        f"S3 refused the {ctx.operation} of {ctx.where}: {code} {message}".strip(),
        "Run it again; if it persists, check the bucket's settings.",
    )


def _exists(ctx: Context) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"An object already exists at {ctx.where}; ferry does not overwrite it.",
        "Choose another key, or delete the object first.",
    )


def _broken(ctx: Context) -> EndpointError:
    return EndpointError(
        f"The connection to {ctx.endpoint} broke while {ctx.doing}.",
        "Check your network and run the command again; completed objects are kept.",
    )


def _sse_c_error(code: str, message: str, status: int, ctx: Context) -> EncryptionError | None:
    lowered = message.lower()
    mentions_sse = "encryption" in lowered or "customer" in lowered
    if status == 403 and ctx.sse_c and ctx.operation == "write":
        return EncryptionError(
            f"S3 refused to write {ctx.where} with an SSE-C key (403 AccessDenied).",
            "Since April 2026 new buckets block SSE-C writes by default; allow SSE-C with: "
            + _ALLOW_SSE_C.format(bucket=ctx.bucket)
            + f" . If SSE-C is allowed, check that your IAM policy allows s3:PutObject on "
            f"arn:aws:s3:::{ctx.bucket}/*.",
        )
    if status == 403 and ctx.sse_c and ctx.operation in {"read", "head"}:
        return EncryptionError(
            f"S3 refused to read {ctx.where} with the SSE-C key given: the object was "
            "written with a different key (or your credentials may not read it).",
            "Use the key the object was written with (FERRY_SSE_C_KEY or sse_c_key_file).",
        )
    if status == 400 and not ctx.sse_c and (mentions_sse or ctx.operation == "head"):
        return EncryptionError(
            f"{ctx.where} is encrypted with a customer-provided key (SSE-C) and no key was given.",
            "Set FERRY_SSE_C_KEY (base64) or sse_c_key_file to the key it was written with.",
        )
    if status == 400 and ctx.sse_c and (mentions_sse or ctx.operation == "head"):
        return NotEncryptedError(
            f"{ctx.where} is not encrypted with SSE-C, but an SSE-C key was given.",
            "Run 'ferry push' in its workspace to encrypt it with your key, or read it "
            "without a key (unset FERRY_SSE_C_KEY / sse_c_key_file).",
        )
    return None


def _access_denied(ctx: Context) -> AccessDeniedError:
    action = {
        "read": "s3:GetObject",
        "head": "s3:GetObject",
        "write": "s3:PutObject",
        "list": "s3:ListBucket",
        "delete": "s3:DeleteObject",
    }[ctx.operation]
    return AccessDeniedError(
        f"Access denied: your credentials may not {ctx.operation} {ctx.where} "
        "(the bucket exists, or S3 would not say).",
        f"Ask for {action} on arn:aws:s3:::{ctx.bucket} and arn:aws:s3:::{ctx.bucket}/* in "
        "your IAM policy, or check you are using the right profile.",
    )


def bucket_missing(ctx: Context) -> BucketNotFoundError:
    """The error for a bucket that does not exist."""
    return BucketNotFoundError(
        f"Bucket {ctx.bucket!r} does not exist at {ctx.endpoint}.",
        f"Check for a typo, or create it: ferry mb s3://{ctx.bucket}",
    )
