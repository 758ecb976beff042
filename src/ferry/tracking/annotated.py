"""What every tracked entity shares: its record, tags and comments, rubicon-ml's ``str``,
filtering by name and tags, and waiting for a write that was queued."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

from ferry.errors import RubiconException
from ferry.tracking.backends import Backends
from ferry.tracking.domain import Entity
from ferry.tracking.failure import failsafe
from ferry.tracking.repository import Annotations, ordered_uuid
from ferry.tracking.snapshot import Snapshot
from ferry.tracking.writer import DONE, WriteHandle

__all__ = [
    "Annotated",
    "TagContainer",
    "check_strings",
    "filter_by",
    "labels",
    "pick",
    "warn_multiple",
]

R = TypeVar("R", bound=Entity)
C = TypeVar("C", bound="Annotated[Any]")


class Labels(TypedDict):
    tags: list[str]
    comments: list[str]


def labels(tags: list[str] | None, comments: list[str] | None) -> Labels:
    """Checked tags and comments for a new record."""
    return {
        "tags": check_strings(tags or [], "tags"),
        "comments": check_strings(comments or [], "comments"),
    }


def check_strings(values: Any, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"`{what}` must be `list` of type `str`")
    return values


class TagContainer(list[str]):
    """A list of tags; ``tags["stage"]`` gives the value(s) of ``stage:<value>`` tags, and
    a slice is a TagContainer too (as in rubicon-ml)."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return TagContainer(super().__getitem__(index))
        if not isinstance(index, str):
            return super().__getitem__(index)
        values = [t.split(":", 1)[1] for t in self if t.startswith(f"{index}:")]
        if not values:
            raise KeyError(index)
        return values[0] if len(values) == 1 else values


class Annotated(Generic[R]):
    """An entity with tags and comments, kept as rubicon-ml does: given at log time in
    ``metadata.json``, changed later through new tags_/comments_ files."""

    def __init__(
        self,
        record: R,
        backends: Backends,
        folder: str | Callable[[], str],
        snapshot: Snapshot | None = None,
        parent: Any = None,
    ) -> None:
        self._record = record
        self._backends = backends
        self._locate = folder
        self._snapshot = snapshot
        self._parent = parent
        self._annotations: Annotations | None = None
        self._write: WriteHandle = DONE

    @property
    def _folder(self) -> str:
        """The entity's folder; worked out only when tags or comments need it."""
        if callable(self._locate):
            self._locate = self._locate()
        return self._locate

    def _merged(self) -> tuple[list[str], list[str]]:
        if self._annotations is None:
            if self._snapshot is not None:
                self._annotations = self._snapshot.annotations(self._folder)
            else:
                self._annotations = self._backends.read(lambda r: r.annotations(self._folder))
        tags: list[str] = getattr(self._record, "tags", [])
        comments: list[str] = getattr(self._record, "comments", [])
        return self._annotations.apply(tags, comments)

    @property
    def id(self) -> str:
        return str(getattr(self._record, "id"))  # noqa: B009 - every record has an id

    @property
    def created_at(self) -> datetime:
        return getattr(self._record, "created_at")  # type: ignore[no-any-return]  # noqa: B009

    @property
    def name(self) -> Any:
        """The entity's name (None for an unnamed experiment or dataframe)."""
        return getattr(self._record, "name", None)

    @property
    def description(self) -> str | None:
        return getattr(self._record, "description", None)

    @property
    def parent(self) -> Any:
        """The project or experiment this entity was logged to."""
        return self._parent

    @property
    def tags(self) -> TagContainer:
        return TagContainer(self._merged()[0])

    @property
    def comments(self) -> list[str]:
        return self._merged()[1]

    def _annotate(self, field: str, values: list[str]) -> None:
        check_strings(values, "tags" if "tags" in field else "comments")
        folder, made = self._folder, ordered_uuid()  # named now: queued writes keep order
        self._backends.write(lambda r: r.annotate(folder, field, values, made), order=folder)
        if self._annotations is not None:
            self._annotations = Annotations([*self._annotations.records, {field: values}])

    @failsafe
    def add_tags(self, tags: list[str]) -> None:
        self._annotate("added_tags", tags)

    @failsafe
    def remove_tags(self, tags: list[str]) -> None:
        self._annotate("removed_tags", tags)

    @failsafe
    def add_comments(self, comments: list[str]) -> None:
        self._annotate("added_comments", comments)

    @failsafe
    def remove_comments(self, comments: list[str]) -> None:
        self._annotate("removed_comments", comments)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until this entity's write has landed, raising its error if it failed.

        Returns at once for an entity written synchronously (the default) or read back.
        """
        self._write.wait(timeout)

    def __str__(self) -> str:
        """The record, as rubicon-ml prints its entities (its domain dataclass)."""
        return repr(self._record)


def filter_by(
    items: Sequence[C], *, name: str | None, tags: list[str] | None, qtype: str
) -> list[C]:
    """rubicon-ml's filter: tags with ``qtype`` "or"/"and" (``*`` wildcards), exact name."""
    kept = list(items)
    if tags:
        check_strings(tags, "tags")
        combine = any if qtype == "or" else all
        if any("*" in t for t in tags):
            patterns = [
                re.compile("^" + ".*".join(map(re.escape, t.split("*"))) + "$") for t in tags
            ]
            kept = [c for c in kept if combine(any(p.match(t) for t in c.tags) for p in patterns)]
        else:
            kept = [c for c in kept if combine(t in c.tags for t in tags)]
    if name is not None:
        kept = [c for c in kept if getattr(c._record, "name", None) == name]
    return kept


def warn_multiple(kind: str, name: str) -> None:
    """rubicon-ml's warning when a name is shared: the newest of them is returned."""
    warnings.warn(
        f"Multiple {kind}s found with name '{name}'. Returning most recently logged.",
        stacklevel=3,
    )


def pick(items: Sequence[C], *, name: str | None, id: str | None, kind: str) -> C:
    """One entity by name (the newest of that name, with rubicon-ml's warning when there
    are several) or by id."""
    if (name is None) == (id is None):
        raise ValueError("`name` OR `id` required.")
    if id is not None:
        found = [c for c in items if c.id == id]
        if not found:
            raise RubiconException(f"No {kind} with id `{id}` found.")
        return found[0]
    found = [c for c in items if getattr(c._record, "name", None) == name]
    if not found:
        raise RubiconException(f"No {kind} found with name '{name}'.")
    if len(found) > 1:
        warn_multiple(kind, str(name))
    return found[-1]
