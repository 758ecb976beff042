"""The dashboard's one adapter to model stores: the only module of ``ferry.ui`` that knows
the calls and record shapes of :class:`ferry.models.ModelStore`.

It uses ModelStore's public, modelstore-compatible calls (``list_domains``,
``list_models``, ``list_model_states``, ``get_model_info``) and turns each record into the
few fields the Models page shows. Records are read in modelstore's nested shape
(``{"model": {"model_id", "model_type": {"library", "type"}}, "code": {"created"}, ...}``);
:func:`summary` is the place to adjust if those shapes change again.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ferry.errors import NotFoundError
from ferry.models import ModelStore

__all__ = ["ModelSource", "summary"]


class ModelSource:
    """Read-only views of one or more model stores.

    Args:
        stores: each store's URL and the ``ModelStore`` that reads it.
        workers: how many model records are read at once.
    """

    def __init__(self, stores: Sequence[tuple[str, ModelStore]], *, workers: int = 8) -> None:
        self.urls = [url for url, _ in stores]
        self._stores = [store for _, store in stores]
        self._workers = workers

    @classmethod
    def open(cls, urls: Sequence[str], settings: Any = None) -> ModelSource:
        return cls([(url, ModelStore(url, settings=settings)) for url in urls])

    def check(self) -> None:
        """List each store's domains now, so errors show at start-up."""
        for store in self._stores:
            store.list_domains()

    def _store(self, root: int) -> ModelStore:
        if not 0 <= root < len(self._stores):
            raise NotFoundError(f"No model store number {root}.", "Go back to the models page.")
        return self._stores[root]

    def domains(self) -> list[dict[str, Any]]:
        """Every domain of every store: its number of versions and its latest version."""
        found = []
        for root, store in enumerate(self._stores):
            for domain in store.list_domains():
                ids = store.list_models(domain)
                found.append(
                    {
                        "root": root,
                        "root_url": self.urls[root],
                        "domain": domain,
                        "versions": len(ids),
                        "latest": ids[0] if ids else None,
                    }
                )
        return found

    def versions(self, root: int, domain: str) -> dict[str, Any]:
        """A domain's versions, newest first, each with its states and a summary."""
        store = self._store(root)
        ids = store.list_models(domain)
        states = store.list_model_states()
        in_state = {state: set(store.list_models(domain, state)) for state in states}
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            records = list(pool.map(lambda i: store.get_model_info(domain, i), ids))
        return {
            "root": root,
            "root_url": self.urls[root],
            "domain": domain,
            "states": states,
            "versions": [
                {**summary(record), "states": [s for s in states if i in in_state[s]]}
                for i, record in zip(ids, records, strict=True)
            ],
        }

    def version(self, root: int, domain: str, model_id: str) -> dict[str, Any]:
        """One version's summary and its whole record (the metadata)."""
        record = self._store(root).get_model_info(domain, model_id)
        return {**summary(record), "record": record}


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The fields the Models page lists, from a record in modelstore's nested shape
    (``{"model": {"model_id", "model_type": {"library", "type"}}, "code", "extra"}``)."""
    model = _dict(record.get("model"))
    code = _dict(record.get("code"))
    library = _dict(model.get("model_type"))
    kind = ".".join(str(library[k]) for k in ("library", "type") if library.get(k))
    return {
        "model_id": model.get("model_id"),
        "created_at": code.get("created"),
        "flavour": library.get("library"),
        "model_type": kind or None,
        "extra_metadata": _dict(record.get("extra")),
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
