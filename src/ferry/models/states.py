"""Model states (``production``, ``staging``, ...): modelstore's, as a part of ModelStore.

A state exists once ``create_model_state`` wrote ``model_states/<state>.json``; a model is
in it while a copy of its record is at ``<domain>/versions/<state>/<model_id>.json``. The
reserved ``modelstore-deleted`` state is modelstore's own; users cannot create, set, unset
or delete it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ferry.errors import AlreadyExistsError, ConfigError, FerryError
from ferry.models import layout
from ferry.models.exceptions import ModelStateNotFoundError
from ferry.models.metadata import dumps
from ferry.models.records import Records
from ferry.storage import Store

__all__ = ["StatesMixin", "ask"]


class StatesMixin:
    """ModelStore's state methods (the rest of ModelStore provides the abstract ones)."""

    store: Store
    records: Records

    def _record(self, domain: str, model_id: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def _require_domain(self, domain: str) -> None:
        raise NotImplementedError

    def list_domains(self) -> list[str]:
        raise NotImplementedError

    def list_model_states(self) -> list[str]:
        """The states made with ``create_model_state``, by name (reserved ones left out)."""
        names = (
            info.key.rsplit("/", 1)[-1].removesuffix(".json")
            for info in self.store.ls(layout.states_prefix()).objects
            if info.key.endswith(".json")
        )
        return sorted(n for n in names if len(n) >= 3 and not layout.is_reserved_state(n))

    def create_model_state(self, state_name: str) -> None:
        """Create a state (e.g. ``production``); creating one that exists does nothing."""
        self.ensure_state(layout.check_state_name(state_name))

    def ensure_state(self, state_name: str) -> None:
        created = datetime.now().strftime("%Y/%m/%d/%H:%M:%S")
        with contextlib.suppress(AlreadyExistsError):  # it exists: nothing to do
            self.store.put(
                layout.state_key(state_name),
                dumps({"created": created, "state_name": state_name}),
                mode="create",
            )

    def require_state(self, state_name: str) -> None:
        """Raise ``ModelStateNotFoundError`` (a ValueError) unless the state exists."""
        if layout.is_reserved_state(state_name):
            return
        if not self.store.exists(layout.state_key(state_name)):
            raise ModelStateNotFoundError(state_name, self.list_model_states())

    def set_model_state(self, domain: str, model_id: str, state_name: str) -> None:
        """Put a model in a state that ``create_model_state`` made."""
        self._user_state(state_name)
        record = self._record(domain, model_id)
        self.store.put(layout.version_key(domain, model_id, state_name), dumps(record))

    def remove_model_state(self, domain: str, model_id: str, state_name: str) -> None:
        """Take a model out of a state (nothing happens if it was not in it)."""
        self._user_state(state_name)
        self.store.delete([layout.version_key(domain, model_id, state_name)])

    def get_model_states(self, domain: str, model_id: str) -> list[str]:
        """The states a model is in."""
        self._require_domain(domain)
        return [
            state
            for state in self.list_model_states()
            if self.store.exists(layout.version_key(domain, model_id, state))
        ]

    def delete_model_state(
        self,
        state_name: str,
        skip_prompt: bool = False,
        *,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        """Delete a state, and take every model of every domain out of it.

        Asks first unless ``skip_prompt``; ``confirm`` replaces the question.
        """
        self._user_state(state_name)
        question = f"Delete model state '{state_name}' and remove it from all models?"
        if not skip_prompt and not (confirm or ask)(question):
            return
        for domain in self.list_domains():
            folder = layout.versions_prefix(domain, state_name)
            self.store.delete([info.key for info in self.store.ls(folder).objects])
        self.store.delete([layout.state_key(state_name)])

    def _user_state(self, state_name: str) -> None:
        if layout.is_reserved_state(state_name):
            raise ConfigError(
                f"State '{state_name}' is reserved: modelstore keeps deleted models in it.",
                "Use delete_model() to delete a model; pick another name for your state.",
            )
        self.require_state(state_name)


def ask(question: str) -> bool:
    """Ask on the terminal; with no terminal, an error that says how to go ahead."""
    if not os.isatty(0):
        raise FerryError(
            f"{question} (no terminal to ask on)",
            "Pass skip_prompt=True to go ahead without asking.",
        )
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}
