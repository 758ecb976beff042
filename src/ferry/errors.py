"""ferry's exceptions: one root, a shallow tree, and a message that says what to do.

Every error a user can meet is a :class:`FerryError`. Each carries two parts, the
``problem`` (what happened) and the ``fix`` (what to do next); ``str(error)`` joins them
on one line. Errors from boto3 and botocore are translated into these in ``ferry.storage``
and never reach a user. Each class has its own ``exit_code`` for the command line::

    FerryError                                   1
    ├── ConfigError (ValueError)                 3  a setting or argument is invalid
    ├── CredentialsError                         4  no AWS credentials were found
    ├── NotFoundError (FileNotFoundError)        5  an object, key or file is missing
    │   └── BucketNotFoundError                  5  the bucket itself is missing
    ├── AccessDeniedError (PermissionError)      6  the credentials may not do this
    ├── AlreadyExistsError (FileExistsError)     7  a create-only write met an existing object
    ├── EndpointError (ConnectionError)          8  the S3 endpoint could not be reached
    │   └── InterruptedTransferError             8  one answer broke off mid-body
    ├── ThrottledError                           9  S3 kept throttling after every retry
    ├── EncryptionError                         10  SSE-C key missing, wrong or blocked
    │   └── NotEncryptedError                   10  a key was given; the object has none
    ├── MultiError                              11  several parts of one operation failed
    ├── OfflineError                            12  offline and the object is not cached
    ├── RubiconException                        13  experiment tracking (rubicon-ml's name)
    └── LocalFileError (OSError)                16  a local file could not be read or written
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccessDeniedError",
    "AlreadyExistsError",
    "BucketNotFoundError",
    "ConfigError",
    "CredentialsError",
    "EncryptionError",
    "EndpointError",
    "FerryError",
    "InterruptedTransferError",
    "LocalFileError",
    "MultiError",
    "NotEncryptedError",
    "NotFoundError",
    "OfflineError",
    "RubiconException",
    "ThrottledError",
]


class FerryError(Exception):
    """Root of every error ferry raises on purpose.

    Args:
        problem: what happened, in one sentence.
        fix: what the user should do about it, in one or two sentences.
    """

    exit_code = 1

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.problem} {self.fix}".strip()

    def __str__(self) -> str:
        return self.message


class ConfigError(FerryError, ValueError):
    """A setting or an argument is invalid (bucket name, region, key file, ...)."""

    exit_code = 3


class CredentialsError(FerryError):
    """No AWS credentials could be found."""

    exit_code = 4


class NotFoundError(FerryError, FileNotFoundError):
    """An object, a key or a local file does not exist."""

    exit_code = 5


class BucketNotFoundError(NotFoundError):
    """The bucket does not exist (S3 answered 404 for the bucket)."""


class AccessDeniedError(FerryError, PermissionError):
    """The credentials are valid but may not do this (S3 answered 403)."""

    exit_code = 6


class AlreadyExistsError(FerryError, FileExistsError):
    """A create-only write found an object already at that key."""

    exit_code = 7


class EndpointError(FerryError, ConnectionError):
    """The S3 endpoint could not be reached."""

    exit_code = 8


class InterruptedTransferError(EndpointError):
    """An answer broke off while its body streamed (cut short, connection reset): that
    object failed, but the endpoint answers, so a sync goes on with the other files."""


class ThrottledError(FerryError):
    """S3 kept answering 'slow down' after every retry."""

    exit_code = 9


class EncryptionError(FerryError):
    """An SSE-C problem: key missing, wrong key, or SSE-C blocked by the bucket."""

    exit_code = 10


class NotEncryptedError(EncryptionError):
    """An SSE-C key was given for an object stored without SSE-C (a sync re-encrypts it)."""


class OfflineError(FerryError):
    """Offline mode is on and the object is not in the local cache."""

    exit_code = 12


class MultiError(FerryError):
    """Several parts of one operation failed: stores of a composite, keys of a batch.

    ``failures`` holds each part's name (a store URL or a key) and its error.
    """

    exit_code = 11

    def __init__(
        self, action: str, failures: Sequence[tuple[str, BaseException]], *, shown: int = 5
    ) -> None:
        self.failures = list(failures)
        lines = "; ".join(
            f"{name}: {str(error).rstrip('.')}" for name, error in self.failures[:shown]
        )
        more = len(self.failures) - shown
        super().__init__(
            f"{action} failed for {len(self.failures)}: {lines}"
            + (f"; and {more} more" if more > 0 else "")
            + ".",
            "Fix what is named above and run the command again; what succeeded is kept.",
        )


class RubiconException(FerryError):
    """An experiment-tracking error; the name rubicon-ml users already catch.

    Messages follow rubicon-ml's wording ("No project with name 'x' found.").
    """

    exit_code = 13


class LocalFileError(FerryError, OSError):
    """A local file could not be read or written (disk full, I/O error, read-only disk)."""

    exit_code = 16
