"""Translate boto3/botocore exceptions into ferry errors: the only place that does it.

Each translation says what happened and what to do, with the cases seed 003 lists
(credentials, bucket names, missing vs inaccessible buckets, regions, endpoints) and the
SSE-C and throttling cases S3 adds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from ferry.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BucketNotFoundError,
    ConfigError,
    CredentialsError,
    EncryptionError,
    EndpointError,
    FerryError,
    NotFoundError,
    ThrottledError,
)

__all__ = ["Context", "translate"]

Operation = Literal["read", "write", "list", "delete", "head"]

_THROTTLE_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "503",
}
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_ALLOW_SSE_C = (
    "aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration "
    '\'{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"AES256"}},'
    '"BlockedEncryptionTypes":{{"EncryptionType":["NONE"]}}}}]}}\''
)


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


def translate(exc: Exception, ctx: Context) -> FerryError:
    """The ferry error for a botocore/boto3 exception raised while doing ``ctx``."""
    if isinstance(exc, FerryError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return _no_credentials()
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return _unreachable(ctx)
    if isinstance(exc, ConnectionClosedError | ReadTimeoutError):
        return EndpointError(
            f"The connection to {ctx.endpoint} broke while working on {ctx.where}.",
            "Check your network and run the command again; completed objects are kept.",
        )
    if isinstance(exc, ClientError):
        return _client_error(exc, ctx)
    if isinstance(exc, BotoCoreError):
        return FerryError(f"S3 request on {ctx.where} failed: {exc}.", "Run it again.")
    raise exc


def _no_credentials() -> CredentialsError:
    return CredentialsError(
        "No AWS credentials were found.",
        "Either run 'aws configure', or set the two environment variables "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (on EC2, attach an IAM role instead).",
    )


def _unreachable(ctx: Context) -> EndpointError:
    return EndpointError(
        f"Could not connect to the S3 endpoint {ctx.endpoint}.",
        "Check the endpoint URL (FERRY_ENDPOINT_URL / AWS_ENDPOINT_URL) and your network; "
        "for AWS, check the region is a code such as 'eu-central-1', not a place name. "
        "For a local server, start one with 'ferry dev s3'.",
    )


def _client_error(exc: ClientError, ctx: Context) -> FerryError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    if code == "NoSuchBucket":
        return _no_bucket(ctx)
    if code in {"NoSuchKey", "NoSuchUpload"} or status == 404:
        return NotFoundError(f"No object at {ctx.where}.", "Check the key (list with 'ferry ls').")
    if (code == "PreconditionFailed" or status == 412) and ctx.operation == "read":
        return FerryError(
            f"{ctx.where} was replaced while it was being read.",
            "Run the command again to read the new version.",
        )
    if code in {"PreconditionFailed", "ConditionalRequestConflict"} or status == 412:
        return AlreadyExistsError(
            f"An object already exists at {ctx.where}; ferry does not overwrite it.",
            "Choose another key, or delete the object first.",
        )
    if code in _THROTTLE_CODES or status == 503:
        return ThrottledError(
            f"S3 kept throttling requests on {ctx.where} ({code or status}) after "
            f"{ctx.max_attempts} attempts.",
            "Lower the concurrency (FERRY_CONCURRENCY) or wait a minute and run it again.",
        )
    if code in _CREDENTIAL_CODES:
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
    return FerryError(
        f"S3 refused the {ctx.operation} of {ctx.where}: {code or status} {message}".strip(),
        "Run it again; if it persists, check the bucket's settings.",
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
        return EncryptionError(
            f"{ctx.where} is not encrypted with SSE-C, but an SSE-C key was given.",
            "Read it without a key (unset FERRY_SSE_C_KEY / sse_c_key_file for this store).",
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


def _no_bucket(ctx: Context) -> BucketNotFoundError:
    return BucketNotFoundError(
        f"Bucket {ctx.bucket!r} does not exist at {ctx.endpoint}.",
        f"Check for a typo, or create it: aws s3 mb s3://{ctx.bucket} "
        "(ferry does not create buckets).",
    )


def bucket_missing(ctx: Context) -> BucketNotFoundError:
    """The error for a bucket found missing by a follow-up check."""
    return _no_bucket(ctx)
