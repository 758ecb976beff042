"""ferry keeps a machine-learning team's work in S3.

``import ferry`` is kept light: it imports neither boto3 nor pandas. The storage layer is
in :mod:`ferry.storage`; settings in :mod:`ferry.config`; errors in :mod:`ferry.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferry.config import Settings, load_settings
from ferry.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BucketNotFoundError,
    ConfigError,
    CredentialsError,
    EncryptionError,
    EndpointError,
    FerryError,
    MultiError,
    NotFoundError,
    OfflineError,
    RubiconException,
    ThrottledError,
)
from ferry.storage import ObjectInfo, Store, open_store

if TYPE_CHECKING:
    from ferry.tracking import Rubicon

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AlreadyExistsError",
    "BucketNotFoundError",
    "ConfigError",
    "CredentialsError",
    "EncryptionError",
    "EndpointError",
    "FerryError",
    "MultiError",
    "NotFoundError",
    "ObjectInfo",
    "OfflineError",
    "Rubicon",
    "RubiconException",
    "Settings",
    "Store",
    "ThrottledError",
    "__version__",
    "load_settings",
    "open_store",
]


def __getattr__(name: str) -> Any:
    """Import the tracking client when first asked for (keeps ``import ferry`` light)."""
    if name == "Rubicon":
        from ferry.tracking import Rubicon

        return Rubicon
    raise AttributeError(f"module 'ferry' has no attribute {name!r}")
