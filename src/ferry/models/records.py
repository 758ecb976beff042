"""The model store's JSON records in a Store: read one, read a folder of them, find archives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from ferry.errors import ConfigError, NotFoundError
from ferry.models import layout
from ferry.models.metadata import sort_key
from ferry.storage import Store
from ferry.storage.batch import run_many

__all__ = ["Records"]


class Records:
    """Reads the records of one store (JSON objects under ``operatorai-model-store/``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Requests to S3 wait on the network, so many go at once; disk and memory don't.
        self.workers = 16 if store.url.startswith("s3://") else 1

    def check(self) -> None:
        """One listing request: raises the store's clear error if it cannot be used."""
        next(iter(self.store.list(layout.states_prefix())), None)

    def read(self, key: str) -> dict[str, Any] | None:
        """The record at ``key``; None if there is none."""
        try:
            data = self.store.get(key)
        except NotFoundError:
            return None
        try:
            record: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise ConfigError(
                f"The record {self.store.url}/{key} is not valid JSON.",
                "Restore it from a backup or delete it; ferry will not guess its content.",
            ) from exc
        return record

    def read_folder(self, prefix: str) -> list[dict[str, Any]]:
        """Every record directly in ``prefix`` (not in sub-folders), newest first.

        Objects that are not JSON records are skipped, as modelstore does.
        """
        keys = [i.key for i in self.store.ls(prefix).objects if i.key.endswith(".json")]
        found = run_many(
            f"Reading records from {self.store.url}",
            {key: partial(self._read_quietly, key) for key in keys},
            self.workers,
        )
        records = [found[key] for key in keys if found.get(key) is not None]
        return sorted(records, key=sort_key, reverse=True)  # type: ignore[arg-type]

    def _read_quietly(self, key: str) -> dict[str, Any] | None:
        try:
            return self.read(key)
        except ConfigError:
            return None

    def archive_key(self, record: Mapping[str, Any]) -> str:
        """The key of a record's archive, from where the record says it was written."""
        storage = record.get("storage") or {}
        location = storage.get("prefix") or storage.get("path") or ""
        key = layout.archive_key_from_location(str(location))
        if key is None:
            raise ConfigError(
                f"The record of model {record.get('model', {}).get('model_id')!r} names its "
                f"archive at {location!r}, outside {layout.ROOT}/.",
                "The record was not written by modelstore or ferry; download it by hand.",
            )
        return key
