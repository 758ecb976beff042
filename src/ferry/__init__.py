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
    from ferry.models import ModelStore
    from ferry.objects import s3delete, s3exists, s3ls, s3read, s3store
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
    "ModelStore",
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
    "s3delete",
    "s3exists",
    "s3ls",
    "s3read",
    "s3store",
]

# The capabilities, imported when first asked for: ``import ferry`` stays light (no boto3,
# no pandas), as users of rubicon-ml, modelstore and s3mpi import them from the top.
_LAZY = {
    "Rubicon": "ferry.tracking",
    "ModelStore": "ferry.models",
    "s3store": "ferry.objects",
    "s3read": "ferry.objects",
    "s3exists": "ferry.objects",
    "s3delete": "ferry.objects",
    "s3ls": "ferry.objects",
}


def __getattr__(name: str) -> Any:
    """Import a capability's entry point when first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ferry' has no attribute {name!r}")
