"""Several repositories as one (seed 001): writes go to all, reads come from the first
that can answer; when none can, one RubiconException lists each backend's failure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ferry.errors import FerryError, RubiconException
from ferry.tracking.repository import Repository

__all__ = ["Backends"]

T = TypeVar("T")


class Backends:
    """The repositories a Rubicon writes to and reads from, in order."""

    def __init__(self, repositories: Sequence[Repository]) -> None:
        if not repositories:
            raise RubiconException("No storage backend configured.", "Give a root_dir.")
        self.repositories = list(repositories)

    def write(self, call: Callable[[Repository], object]) -> None:
        """Run ``call`` on every repository; a failure on one still lets the others write."""
        failures = []
        for repository in self.repositories:
            try:
                call(repository)
            except FerryError as exc:
                failures.append((repository.store.url, exc))
        if not failures:
            return
        if len(self.repositories) == 1:
            raise failures[0][1]
        raise RubiconException(
            "Writing failed on "
            + "; ".join(f"{url}: {error}" for url, error in failures)
            + f" ({len(self.repositories) - len(failures)} of {len(self.repositories)} "
            "backends written).",
            "Fix the backend(s) named above and log the entity again.",
        )

    def read(self, call: Callable[[Repository], T]) -> T:
        """Return ``call`` on the first repository that answers."""
        failures = []
        for repository in self.repositories:
            try:
                return call(repository)
            except FerryError as exc:
                failures.append((repository.store.url, exc))
        if len(failures) == 1:
            raise failures[0][1]
        raise RubiconException(
            "All configured storage backends failed: "
            + "; ".join(f"{url}: {error}" for url, error in failures)
            + "."
        )
