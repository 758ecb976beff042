"""The tracked entities as plain dataclasses, fields in rubicon-ml's order.

Field order is the key order of each ``metadata.json`` (rubicon-ml writes ``__dict__``
in ``__init__`` order), so :func:`to_record` writes files rubicon-ml writes byte for byte.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from ferry.tracking.codec import TrainingMetadata

__all__ = [
    "Artifact",
    "Dataframe",
    "Experiment",
    "Feature",
    "Metric",
    "Parameter",
    "Project",
    "from_record",
    "to_record",
]

DIRECTIONALITIES = ("score", "loss")


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Project:
    name: str
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    github_url: str | None = None
    id: str = field(default_factory=_new_id)
    training_metadata: TrainingMetadata | None = None


@dataclass
class Experiment:
    project_name: str
    branch_name: str | None = None
    comments: list[str] = field(default_factory=list)
    commit_hash: str | None = None
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    id: str = field(default_factory=_new_id)
    model_name: str | None = None
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    training_metadata: TrainingMetadata | None = None


@dataclass
class Metric:
    name: str
    value: Any
    comments: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    directionality: str = "score"
    id: str = field(default_factory=_new_id)
    tags: list[str] = field(default_factory=list)


@dataclass
class Parameter:
    name: str
    value: Any = None
    comments: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    id: str = field(default_factory=_new_id)
    tags: list[str] = field(default_factory=list)


@dataclass
class Feature:
    name: str
    comments: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    id: str = field(default_factory=_new_id)
    importance: float | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Artifact:
    name: str
    comments: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    id: str = field(default_factory=_new_id)
    parent_id: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Dataframe:
    comments: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    description: str | None = None
    id: str = field(default_factory=_new_id)
    name: str | None = None
    parent_id: str | None = None
    tags: list[str] = field(default_factory=list)


Entity = Project | Experiment | Metric | Parameter | Feature | Artifact | Dataframe
E = TypeVar("E", Project, Experiment, Metric, Parameter, Feature, Artifact, Dataframe)


def to_record(entity: Entity) -> dict[str, Any]:
    """The entity as rubicon-ml writes it: its fields, in order."""
    return {f.name: getattr(entity, f.name) for f in fields(entity)}


_FIELD_NAMES: dict[type, frozenset[str]] = {
    kind: frozenset(f.name for f in fields(kind))
    for kind in (Project, Experiment, Metric, Parameter, Feature, Artifact, Dataframe)
}


def from_record(kind: type[E], record: dict[str, Any]) -> E:
    """Build an entity from a decoded ``metadata.json``; unknown keys are ignored, and a
    missing id or timestamp is filled in (as rubicon-ml does)."""
    known = _FIELD_NAMES[kind]
    values = {k: v for k, v in record.items() if k in known}
    for optional in ("id", "created_at", "tags", "comments"):
        if values.get(optional) is None:
            values.pop(optional, None)
    return kind(**values)
