"""The model store's errors, under the names modelstore's users already catch.

Each is also a :class:`~ferry.errors.FerryError` (so ``except FerryError`` and the CLI's
exit codes work) and says what to do next::

    NotFoundError (FileNotFoundError)          5
    ├── DomainNotFoundException                  no such domain
    ├── ModelNotFoundException                   no such model in the domain
    ├── ModelDeletedException                    the model was deleted (delete_model)
    └── ModelStateNotFoundError (ValueError)     no such state (modelstore: ValueError)
    AlreadyExistsError (FileExistsError)       7
    └── ModelExistsException                     upload() with a model_id already in use
    ConfigError (ValueError)                   3
    └── ModelSaveError                           the model could not be saved (not picklable)

modelstore raises ``ValueError`` for a missing state and for invalid names and ids; ferry's
are ``ValueError`` subclasses too, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from ferry.errors import AlreadyExistsError, ConfigError, NotFoundError

__all__ = [
    "DomainNotFoundException",
    "ModelDeletedException",
    "ModelExistsException",
    "ModelNotFoundException",
    "ModelSaveError",
    "ModelStateNotFoundError",
]


class DomainNotFoundException(NotFoundError):
    """A domain that no model was ever uploaded to."""

    def __init__(self, domain: str, known: list[str] | None = None) -> None:
        self.domain = domain
        super().__init__(
            f"The domain='{domain}' does not exist.",
            f"Domains here: {', '.join(known or []) or 'none'}; upload a model to create one.",
        )


class ModelNotFoundException(NotFoundError):
    """A model id that the domain does not have."""

    def __init__(self, domain: str, model_id: str, latest: list[str] | None = None) -> None:
        self.domain, self.model_id = domain, model_id
        super().__init__(
            f"model='{model_id}' does not exist in domain='{domain}'.",
            f"Latest models there: {', '.join(latest or []) or 'none'} (list_models lists all).",
        )


class ModelDeletedException(NotFoundError):
    """A model that ``delete_model`` removed; its id may be uploaded again."""

    def __init__(self, domain: str, model_id: str) -> None:
        self.domain, self.model_id = domain, model_id
        super().__init__(
            f"model='{model_id}' has been deleted from domain='{domain}'.",
            "Use another model, or upload a new one under this id.",
        )


class ModelExistsException(AlreadyExistsError):
    """``upload(model_id=...)`` with an id that the domain already has."""

    def __init__(self, domain: str, model_id: str) -> None:
        self.domain, self.model_id = domain, model_id
        super().__init__(
            f"model='{model_id}' already exists in this domain={domain}.",
            "Versions are never overwritten: pass another model_id, or none for a new one.",
        )


class ModelStateNotFoundError(NotFoundError, ValueError):
    """A state that ``create_model_state`` never created."""

    def __init__(self, state_name: str, known: list[str]) -> None:
        self.state_name = state_name
        super().__init__(
            f"State '{state_name}' does not exist.",
            f"Create it with create_model_state('{state_name}'); states: "
            f"{', '.join(known) or 'none'}.",
        )


class ModelSaveError(ConfigError):
    """The model object could not be saved (for example, it cannot be pickled)."""
