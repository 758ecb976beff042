"""Experiments and what is logged on them: metrics (with MLflow-style steps), parameters
and features; artifacts and dataframes come from :mod:`ferry.tracking.stored`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from ferry.errors import RubiconException
from ferry.tracking.annotated import (
    Annotated,
    TagContainer,
    filter_by,
    labels,
    pick,
)
from ferry.tracking.backends import Backends
from ferry.tracking.codec import slugify
from ferry.tracking.domain import DIRECTIONALITIES, E
from ferry.tracking.domain import Experiment as ExperimentRecord
from ferry.tracking.domain import Feature as FeatureRecord
from ferry.tracking.domain import Metric as MetricRecord
from ferry.tracking.domain import Parameter as ParameterRecord
from ferry.tracking.failure import failsafe
from ferry.tracking.repository import Annotations, Where
from ferry.tracking.snapshot import Snapshot
from ferry.tracking.stored import Artifact, Dataframe, HasArtifacts

__all__ = [
    "Artifact",
    "Dataframe",
    "Experiment",
    "Feature",
    "HasArtifacts",
    "Metric",
    "Parameter",
    "TagContainer",
    "filter_by",
]

C = TypeVar("C", bound=Annotated[Any])


class Metric(Annotated[MetricRecord]):
    """A value that scores an experiment: a "score" to maximise or a "loss" to minimise."""

    @property
    def value(self) -> Any:
        return self._record.value

    @property
    def directionality(self) -> str:
        return self._record.directionality


class Parameter(Annotated[ParameterRecord]):
    """An input of an experiment (a hyperparameter, a setting)."""

    @property
    def value(self) -> Any:
        return self._record.value


class Feature(Annotated[FeatureRecord]):
    """A model input, with its importance."""

    @property
    def importance(self) -> float | None:
        return self._record.importance


class Experiment(HasArtifacts, Annotated[ExperimentRecord]):
    """One run: its metrics, parameters, features, artifacts and dataframes."""

    def __init__(
        self,
        record: ExperimentRecord,
        project: Any,
        snapshot: Snapshot | None = None,
        annotations: Annotations | None = None,
    ) -> None:
        backends: Backends = project._backends
        folder = backends.repository.experiment_dir(record.project_name, record.id)
        Annotated.__init__(self, record, backends, folder, snapshot, project)
        self._annotations = annotations
        self._where = Where(record.project_name, record.id)
        self._cache = {}

    def _parent_id(self) -> str:
        return self.id

    @property
    def project(self) -> Any:
        """The project this experiment was logged to."""
        return self._parent

    @property
    def project_name(self) -> str:
        return self._record.project_name

    @property
    def model_name(self) -> str | None:
        return self._record.model_name

    @property
    def branch_name(self) -> str | None:
        return self._record.branch_name

    @property
    def commit_hash(self) -> str | None:
        return self._record.commit_hash

    @property
    def training_metadata(self) -> Any:
        metadata = self._record.training_metadata
        return None if metadata is None else metadata.value

    # -- metrics ---------------------------------------------------------------------

    @failsafe
    def log_metric(
        self,
        name: str,
        value: Any,
        directionality: str = "score",
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
        step: int | None = None,
        timestamp: datetime | None = None,
        synchronous: bool | None = None,
    ) -> Metric:
        """Log a metric. Without ``step`` a name can be logged once (as in rubicon-ml); with
        ``step`` each call adds a point to the metric's series, and the metric's value is
        the latest point (see :meth:`metric_history`). ``synchronous=False`` queues the
        write (see :meth:`Rubicon.flush`); a metric's steps still land in order."""
        if directionality not in DIRECTIONALITIES:
            raise ValueError(f"`directionality` must be one of {list(DIRECTIONALITIES)}")
        record = MetricRecord(
            name=name,
            value=value,
            directionality=directionality,
            description=description,
            **labels(tags, comments),
            created_at=timestamp or datetime.now(UTC),
        )
        if step is None:
            return self._log_named(Metric, record, "metrics", synchronous)
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError("`step` must be a whole number >= 0")
        record.id = str(_series_id(self.id, name))
        point = {"step": step, "value": value, "timestamp": record.created_at}
        where = self._where
        handle = self._backends.write(
            lambda r: r.log_point(where, record, point),
            order=f"{self.id}/metrics/{slugify(name)}",
            synchronous=synchronous,
        )
        return self._logged(Metric, record, "metrics", handle)

    @failsafe
    def metric_history(self, name: str) -> list[dict[str, Any]]:
        """The points of a stepped metric, by step: ``[{"step", "value", "timestamp"}]``."""
        return self._backends.read(lambda r: r.history(self._where, name))

    @failsafe
    def metrics(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Metric]:
        return self._list_named(Metric, MetricRecord, "metrics", name, tags, qtype)

    @failsafe
    def metric(self, name: str | None = None, id: str | None = None) -> Metric:
        return self._named(Metric, MetricRecord, "metrics", name, id)

    # -- parameters and features -------------------------------------------------------

    @failsafe
    def log_parameter(
        self,
        name: str,
        value: Any = None,
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
        synchronous: bool | None = None,
    ) -> Parameter:
        record = ParameterRecord(
            name=name,
            value=value,
            description=description,
            **labels(tags, comments),
        )
        return self._log_named(Parameter, record, "parameters", synchronous)

    @failsafe
    def parameters(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Parameter]:
        return self._list_named(Parameter, ParameterRecord, "parameters", name, tags, qtype)

    @failsafe
    def parameter(self, name: str | None = None, id: str | None = None) -> Parameter:
        return self._named(Parameter, ParameterRecord, "parameters", name, id)

    @failsafe
    def log_feature(
        self,
        name: str,
        description: str | None = None,
        importance: float | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
        synchronous: bool | None = None,
    ) -> Feature:
        record = FeatureRecord(
            name=name,
            description=description,
            importance=importance,
            **labels(tags, comments),
        )
        return self._log_named(Feature, record, "features", synchronous)

    @failsafe
    def features(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Feature]:
        return self._list_named(Feature, FeatureRecord, "features", name, tags, qtype)

    @failsafe
    def feature(self, name: str | None = None, id: str | None = None) -> Feature:
        return self._named(Feature, FeatureRecord, "features", name, id)

    # -- descendants (rubicon-ml's child experiments, kept as tags) -------------------------

    def add_child_experiment(self, experiment: Experiment) -> None:
        """Mark ``experiment`` as a child of this one (tags ``child:<id>`` here and
        ``parent:<id>`` there), as rubicon-ml does.

        Raises:
            RubiconException: the two experiments belong to different projects.
        """
        if experiment.project.id != self.project.id:
            raise RubiconException(
                "Descendents must be logged to the same project. Project"
                f"{experiment.project.id} does not match project {self.project.id}."
            )
        self.add_tags([f"child:{experiment.id}"])
        experiment.add_tags([f"parent:{self.id}"])

    def get_child_experiments(self) -> list[Experiment]:
        """The experiments tagged as children of this one."""
        return self._related("child")

    def get_parent_experiments(self) -> list[Experiment]:
        """The experiments tagged as parents of this one."""
        return self._related("parent")

    def _related(self, key: str) -> list[Experiment]:
        try:
            ids = self.tags[key]
        except KeyError:
            return []
        ids = ids if isinstance(ids, list) else [ids]
        return [self.project.experiment(id=experiment_id) for experiment_id in ids]

    # -- helpers -------------------------------------------------------------------------

    def _values(self, folder: str) -> list[tuple[str, Any]]:
        """(name, value) of each parameter or metric, without wrapping them (for tables)."""
        if folder == "parameters":
            return [(r.name, r.value) for r in self._records(ParameterRecord, folder)]
        return [(r.name, r.value) for r in self._records(MetricRecord, folder)]

    def _log_named(self, cls: type[C], record: Any, folder: str, synchronous: bool | None) -> C:
        """Write a metric/parameter/feature (once per name) and remember it."""
        where = self._where
        handle = self._backends.write(
            lambda r: r.create_named(where, record),
            order=f"{self.id}/{folder}/{slugify(record.name)}",  # the first of a name wins
            synchronous=synchronous,
        )
        return self._logged(cls, record, folder, handle)

    def _logged(self, cls: type[C], record: Any, folder: str, handle: Any) -> C:
        self._remember_named(folder, record)
        entity = self._wrap(cls, record)
        entity._write = handle
        return entity

    def _list_named(
        self,
        cls: type[C],
        kind: type[E],
        folder: str,
        name: str | None,
        tags: list[str] | None,
        qtype: str,
    ) -> list[C]:
        items = [self._wrap(cls, r) for r in self._records(kind, folder)]
        return filter_by(items, name=name, tags=tags, qtype=qtype)

    def _wrap(self, cls: type[C], record: Any) -> C:
        folder = partial(
            self._backends.repository.entity_dir, self._where, type(record), record.name
        )
        return cls(record, self._backends, folder, self._snapshot, self)

    def _remember_named(self, folder: str, record: Any) -> None:
        if folder in self._cache:
            slug = slugify(record.name)
            kept = [r for r in self._cache[folder] if slugify(r.name) != slug]
            self._cache[folder] = [*kept, record]

    def _named(
        self, cls: type[C], kind: type[E], folder: str, name: str | None, id: str | None
    ) -> C:
        if (name is None) == (id is None):
            raise ValueError("`name` OR `id` required.")
        if name is not None and folder not in self._cache:
            record = self._backends.read(lambda r: r.get_named(self._where, kind, name))
            return self._wrap(cls, record)
        label = folder[:-1]
        items = [self._wrap(cls, r) for r in self._records(kind, folder)]
        if name is not None:
            found = [i for i in items if slugify(i._record.name) == slugify(name)]
            if not found:
                raise RubiconException(f"No {label} with name '{name}' found.")
            return found[-1]
        return pick(items, name=None, id=id, kind=label)


def _series_id(experiment_id: str, name: str) -> uuid.UUID:
    """A stable id for a stepped metric, the same at every step (no read needed)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ferry:{experiment_id}/{slugify(name)}")
