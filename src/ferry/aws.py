"""One way to reach AWS, below ``storage/`` and ``runs/``.

- **Session and credentials**: a boto3 session for the configured profile; its credential
  chain (environment, profile, SSO, instance role) is the only one ferry uses.
- **Region**: configured, else the profile's, else ``us-east-1``; place names are refused.
- **Retries**: botocore's standard mode with ``max_attempts`` per request.
- **Endpoints per service**, as boto3 spells them: ``AWS_ENDPOINT_URL_<SERVICE>`` (for
  example ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_EC2``) beside ``AWS_ENDPOINT_URL``
  for every service. They are resolved once, in :mod:`ferry.config`, into
  ``Settings.endpoints``; this module never reads the environment for them.
- **Errors**: :func:`translate` turns the botocore exceptions every service shares (no
  credentials, endpoint unreachable, connection broken, throttling, rejected or
  insufficient credentials) into ferry errors; a service's own codes are translated by its
  caller first (``storage/s3/errors.py`` for S3, ``runs/`` for EC2).

boto3 and botocore are imported only when a client is built or an error translated, so
``import ferry`` stays light.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferry.errors import (
    AccessDeniedError,
    ConfigError,
    CredentialsError,
    EndpointError,
    FerryError,
    ThrottledError,
)

if TYPE_CHECKING:
    import boto3

    from ferry.config import Settings

__all__ = [
    "AwsOptions",
    "StaticCredentials",
    "botocore_errors",
    "check_region",
    "error_code",
    "http_status",
    "no_credentials",
    "translate",
    "unreachable",
]

DEFAULT_REGION = "us-east-1"
# Region codes look like "eu-central-1", "us-gov-west-1", "cn-north-1".
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

# Place names people type for a region, lower-cased, to the region's code.
_PLACES = {
    "n. virginia": "us-east-1",
    "virginia": "us-east-1",
    "us east": "us-east-1",
    "ohio": "us-east-2",
    "n. california": "us-west-1",
    "california": "us-west-1",
    "oregon": "us-west-2",
    "us west": "us-west-2",
    "canada": "ca-central-1",
    "montreal": "ca-central-1",
    "calgary": "ca-west-1",
    "sao paulo": "sa-east-1",
    "são paulo": "sa-east-1",
    "brazil": "sa-east-1",
    "ireland": "eu-west-1",
    "dublin": "eu-west-1",
    "london": "eu-west-2",
    "paris": "eu-west-3",
    "france": "eu-west-3",
    "frankfurt": "eu-central-1",
    "germany": "eu-central-1",
    "zurich": "eu-central-2",
    "switzerland": "eu-central-2",
    "stockholm": "eu-north-1",
    "sweden": "eu-north-1",
    "milan": "eu-south-1",
    "italy": "eu-south-1",
    "spain": "eu-south-2",
    "madrid": "eu-south-2",
    "tokyo": "ap-northeast-1",
    "japan": "ap-northeast-1",
    "seoul": "ap-northeast-2",
    "korea": "ap-northeast-2",
    "osaka": "ap-northeast-3",
    "singapore": "ap-southeast-1",
    "sydney": "ap-southeast-2",
    "australia": "ap-southeast-2",
    "jakarta": "ap-southeast-3",
    "melbourne": "ap-southeast-4",
    "mumbai": "ap-south-1",
    "india": "ap-south-1",
    "hyderabad": "ap-south-2",
    "hong kong": "ap-east-1",
    "bahrain": "me-south-1",
    "uae": "me-central-1",
    "dubai": "me-central-1",
    "tel aviv": "il-central-1",
    "israel": "il-central-1",
    "cape town": "af-south-1",
    "south africa": "af-south-1",
    "beijing": "cn-north-1",
    "ningxia": "cn-northwest-1",
}


def check_region(region: str) -> str:
    """Return ``region`` if it looks like a region code; otherwise say which code to use."""
    if _REGION_CODE.match(region):
        return region
    guess = _PLACES.get(region.strip().lower().replace("-", " ").replace("_", " "))
    if guess:
        raise ConfigError(
            f"Region {region!r} is a place name, not a region code.",
            f"Use the code {guess!r} (for example region='{guess}' or FERRY_REGION={guess}).",
        )
    raise ConfigError(
        f"Region {region!r} is not a region code.",
        "Use a code such as 'us-east-1' or 'eu-central-1' (the list is at "
        "https://docs.aws.amazon.com/general/latest/gr/s3.html).",
    )


# Codes meaning "slow down" across services (S3, EC2, IAM, SSM, STS, tagging).
THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "503",
    }
)
# Codes meaning "these credentials are not valid" (as opposed to "not allowed").
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "InvalidClientTokenId",
        "TokenRefreshRequired",
        "AuthFailure",
        "UnrecognizedClientException",
    }
)
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
)


@dataclass(frozen=True)
class StaticCredentials:
    """Keys given explicitly (for example as rubicon-ml's ``key=``/``secret=`` storage
    options) instead of the credential chain; never shown in a repr."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AwsOptions:
    """How to reach AWS: region, profile, retries and the endpoint of each service.

    Args:
        region: a region code such as ``eu-central-1``.
        profile: a profile from ``~/.aws/config``; None uses the default chain.
        max_attempts: attempts per request, with botocore's standard backoff.
        endpoints: service name (``s3``, ``ec2``, ``iam``, ...) to endpoint URL; the key
            ``""`` applies to every service without its own (``AWS_ENDPOINT_URL``).
        credentials: explicit keys, used instead of the credential chain.
    """

    region: str | None = None
    profile: str | None = None
    max_attempts: int = 8
    endpoints: Mapping[str, str] = field(default_factory=dict)
    credentials: StaticCredentials | None = None

    def __post_init__(self) -> None:
        if self.region is not None:
            check_region(self.region)

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsOptions:
        """The options the resolved settings describe."""
        endpoints = dict(settings.endpoints)
        if settings.endpoint_url:
            endpoints["s3"] = settings.endpoint_url
        return cls(
            region=settings.region,
            profile=settings.profile,
            max_attempts=settings.max_attempts,
            endpoints=endpoints,
        )

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint URL for ``service``, or None for AWS's own."""
        key = service.lower().replace("-", "_")
        return self.endpoints.get(key) or self.endpoints.get("") or None

    def describe_endpoint(self, service: str) -> str:
        """The endpoint in words, for error messages."""
        name = "S3" if service == "s3" else service.upper()
        return self.endpoint_for(service) or f"AWS {name} ({self.region or 'default region'})"

    def session(self) -> boto3.session.Session:
        """A boto3 session for the configured profile (credentials come from its chain)."""
        import boto3
        from botocore.exceptions import ProfileNotFound

        keys = self.credentials
        try:
            if keys is not None:
                return boto3.session.Session(
                    aws_access_key_id=keys.access_key_id,
                    aws_secret_access_key=keys.secret_access_key,
                    aws_session_token=keys.token,
                    profile_name=self.profile,
                )
            return boto3.session.Session(profile_name=self.profile)
        except ProfileNotFound:
            raise ConfigError(
                f"AWS profile {self.profile!r} is not in your AWS config.",
                "Run 'aws configure --profile NAME', or fix the profile setting.",
            ) from None

    def region_for(self, session: boto3.session.Session) -> str:
        """The region: configured, else the profile's, else us-east-1."""
        return check_region(self.region or session.region_name or DEFAULT_REGION)

    def client(
        self, service: str, *, session: boto3.session.Session | None = None, **config: Any
    ) -> Any:
        """A thread-safe boto3 client for ``service``; ``config`` adds botocore Config fields."""
        from botocore.config import Config

        session = session or self.session()
        settings: dict[str, Any] = {
            "retries": {"total_max_attempts": self.max_attempts, "mode": "standard"},
            "connect_timeout": 10,
            "read_timeout": 120,
            **config,
        }
        return session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_for(service),
            region_name=self.region_for(session),
            config=Config(**settings),
        )


def botocore_errors() -> tuple[type[Exception], ...]:
    """botocore's exception roots, imported only when an exception needs them."""
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def error_code(exc: BaseException) -> str:
    """The service's error code of a ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int:
    """The HTTP status of a ``ClientError`` (0 for anything else)."""
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", ""))


def translate(
    exc: BaseException, *, service: str, doing: str, endpoint: str, attempts: int = 0
) -> FerryError:
    """The ferry error for a botocore exception any service can raise.

    Args:
        exc: the exception botocore raised.
        service: the service's display name (``"S3"``, ``"EC2"``).
        doing: what was being done, for the message (``"reading s3://b/k"``).
        endpoint: the endpoint in words (:meth:`AwsOptions.describe_endpoint`).
        attempts: how many attempts were made (for the throttling message).

    A service's own codes (S3's ``NoSuchKey``, EC2's ``InvalidInstanceID.NotFound``)
    should be handled by the caller before falling back to this.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, FerryError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return no_credentials()
    if isinstance(exc, NoRegionError):
        return ConfigError(
            f"No AWS region is configured for {service}.",
            "Set FERRY_REGION (or AWS_REGION) to a code such as 'eu-central-1'.",
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return unreachable(service, endpoint)
    if isinstance(exc, ConnectionClosedError | ReadTimeoutError):
        return EndpointError(
            f"The connection to {endpoint} broke while {doing}.",
            "Check your network and run the command again; completed work is kept.",
        )
    if isinstance(exc, ClientError):
        return _client_error(exc, service=service, doing=doing, attempts=attempts)
    if isinstance(exc, BotoCoreError):
        return FerryError(f"{service} request failed while {doing}: {exc}.", "Run it again.")
    return FerryError(
        f"Unexpected error while {doing}: {type(exc).__name__}: {exc}.",
        "Run it again with --debug and report it as a ferry bug if it persists.",
    )


def _client_error(exc: BaseException, *, service: str, doing: str, attempts: int) -> FerryError:
    code, status, message = error_code(exc), http_status(exc), _message(exc)
    if code in THROTTLE_CODES or status == 503:
        return ThrottledError(
            f"{service} kept throttling requests ({code or status}) after {attempts} attempts "
            f"while {doing}.",
            "Lower the concurrency (FERRY_CONCURRENCY) or wait a minute and run it again.",
        )
    if code in CREDENTIAL_CODES:
        return CredentialsError(
            f"{service} rejected your AWS credentials ({code}).",
            "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or run 'aws configure' again.",
        )
    if code in DENIED_CODES or status == 403:
        return AccessDeniedError(
            f"Access denied while {doing} ({code or status}).",
            "Ask for the permission named in the IAM policy the README gives for this "
            "capability, or check you are using the right profile.",
        )
    return FerryError(
        f"{service} refused the request while {doing}: {code or status} {message}".strip(),
        "Run it again; if it persists, check the resource's settings.",
    )


def unreachable(service: str, endpoint: str) -> EndpointError:
    """The error when no connection to the service's endpoint could be made."""
    return EndpointError(
        f"Could not connect to the {service} endpoint {endpoint}.",
        "Check the endpoint URL (FERRY_ENDPOINT_URL / AWS_ENDPOINT_URL, or "
        f"AWS_ENDPOINT_URL_{service.upper()}) and your network; for AWS, check the region "
        "is a code such as 'eu-central-1'. For a local S3 server, run 'ferry dev s3'.",
    )


def no_credentials() -> CredentialsError:
    """The error when no credentials could be found anywhere in the chain."""
    return CredentialsError(
        "No AWS credentials were found.",
        "Either run 'aws configure', or set the two environment variables "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (on EC2, attach an IAM role instead).",
    )
