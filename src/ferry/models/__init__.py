"""A model store (seed 003): modelstore 0.0.81's API and bucket layout, on S3 or disk.

``ModelStore.from_aws_s3("bucket")`` in ferry reads, loads and adds to a store that
modelstore wrote, and modelstore reads what ferry wrote. The exceptions carry modelstore's
names and are also :class:`~ferry.errors.FerryError` subclasses.

Read by the dashboard (and anyone) through: :meth:`ModelStore.list_domains`,
:meth:`ModelStore.list_models`, :meth:`ModelStore.list_model_infos`,
:meth:`ModelStore.get_model_info`, :meth:`ModelStore.list_model_states` and
:meth:`ModelStore.get_model_states`.
"""

from __future__ import annotations

from ferry.models.exceptions import (
    DomainNotFoundException,
    ModelDeletedException,
    ModelExistsException,
    ModelNotFoundException,
    ModelSaveError,
    ModelStateNotFoundError,
)
from ferry.models.store import ModelStore

__all__ = [
    "DomainNotFoundException",
    "ModelDeletedException",
    "ModelExistsException",
    "ModelNotFoundException",
    "ModelSaveError",
    "ModelStateNotFoundError",
    "ModelStore",
]
