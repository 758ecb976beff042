"""The objects users hold: experiments and what is logged on them, plus the behaviour they
share (tags and comments, artifacts and dataframes, filtering by name and tags)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypedDict, TypeVar

from ferry.errors import RubiconException
from ferry.tracking import frames
from ferry.tracking.artifacts import artifact_bytes, deserialize_artifact
from ferry.tracking.backends import Backends
from ferry.tracking.codec import dumps, loads, slugify
from ferry.tracking.domain import (
    DIRECTIONALITIES,
    E,
    Entity,
)
from ferry.tracking.domain import (
    Artifact as ArtifactRecord,
)
from ferry.tracking.domain import (
    Dataframe as DataframeRecord,
)
from ferry.tracking.domain import (
    Experiment as ExperimentRecord,
)
from ferry.tracking.domain import (
    Feature as FeatureRecord,
)
from ferry.tracking.domain import (
    Metric as MetricRecord,
)
from ferry.tracking.domain import (
    Parameter as ParameterRecord,
)
from ferry.tracking.repository import Annotations, Repository, Where
from ferry.tracking.snapshot import Snapshot

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

R = TypeVar("R", bound=Entity)
C = TypeVar("C", bound="Annotated[Any]")
S = TypeVar("S", bound="ArtifactRecord | DataframeRecord")


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
    """A list of tags; ``tags["stage"]`` gives the value(s) of ``stage:<value>`` tags."""

    def __getitem__(self, index: Any) -> Any:
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
    ) -> None:
        self._record = record
        self._backends = backends
        self._locate = folder
        self._snapshot = snapshot
        self._annotations: Annotations | None = None

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
    def tags(self) -> TagContainer:
        return TagContainer(self._merged()[0])

    @property
    def comments(self) -> list[str]:
        return self._merged()[1]

    def _annotate(self, field: str, values: list[str]) -> None:
        check_strings(values, "tags" if "tags" in field else "comments")
        self._backends.write(lambda r: r.annotate(self._folder, field, values))
        if self._annotations is not None:
            self._annotations = Annotations([*self._annotations.records, {field: values}])

    def add_tags(self, tags: list[str]) -> None:
        self._annotate("added_tags", tags)

    def remove_tags(self, tags: list[str]) -> None:
        self._annotate("removed_tags", tags)

    def add_comments(self, comments: list[str]) -> None:
        self._annotate("added_comments", comments)

    def remove_comments(self, comments: list[str]) -> None:
        self._annotate("removed_comments", comments)

    def __repr__(self) -> str:
        name = getattr(self._record, "name", None)
        return f"<{type(self).__name__} {name!r} id={self.id}>"


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


def pick(items: Sequence[C], *, name: str | None, id: str | None, kind: str) -> C:
    """One entity by name (the newest of that name) or by id."""
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
    return found[-1]


class Metric(Annotated[MetricRecord]):
    @property
    def value(self) -> Any:
        return self._record.value

    @property
    def directionality(self) -> str:
        return self._record.directionality


class Parameter(Annotated[ParameterRecord]):
    @property
    def value(self) -> Any:
        return self._record.value


class Feature(Annotated[FeatureRecord]):
    @property
    def importance(self) -> float | None:
        return self._record.importance


class Stored(Annotated[S]):
    """An artifact or dataframe: data kept beside its record, owned by a project or an
    experiment (``parent_id``)."""

    def __init__(
        self,
        record: S,
        backends: Backends,
        where: Where,
        folder: str,
        snapshot: Snapshot | None = None,
    ) -> None:
        super().__init__(record, backends, folder, snapshot)
        self._where = where

    @property
    def parent_id(self) -> str | None:
        return self._record.parent_id


class Artifact(Stored[ArtifactRecord]):
    @property
    def data(self) -> bytes:
        return self.get_data()  # type: ignore[no-any-return]

    def get_data(self, deserialize: str | None = None, unpickle: bool = False) -> Any:
        """The artifact's bytes, or with ``deserialize="pickle"`` the object they hold."""
        raw = self._backends.read(lambda r: r.get_data(self._where, ArtifactRecord, self.id))
        return deserialize_artifact(raw, "pickle" if unpickle else deserialize)

    def get_json(self) -> Any:
        return loads(self.get_data())

    def download(
        self, location: str | Path | None = None, name: str | None = None, unzip: bool = False
    ) -> Path:
        """Write the artifact into folder ``location`` (the current one by default)."""
        target = Path(location or ".") / (name or self.name)
        data = self.get_data()
        if unzip:
            import io
            import zipfile

            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(target.parent)
            return target.parent
        from ferry.storage.local import write_atomically

        write_atomically(target, [data])
        return target


class Dataframe(Stored[DataframeRecord]):
    def get_data(self, df_type: str = "pandas") -> Any:
        """The frame, as ``df_type`` ("pandas", "polars" or "dask")."""
        raw = self._backends.read(lambda r: r.get_data(self._where, DataframeRecord, self.id))
        return frames.from_parquet(raw, df_type)


class HasArtifacts:
    """Artifacts and dataframes, shared by projects and experiments."""

    _backends: Backends
    _where: Where
    _snapshot: Snapshot | None = None
    _cache: dict[str, list[Any]]

    def _children_dir(self) -> str:
        return self._backends.repositories[0].parent_dir(self._where)

    def _wrap_artifact(self, record: ArtifactRecord) -> Artifact:
        folder = self._backends.repositories[0].entity_dir(self._where, ArtifactRecord, record.id)
        return Artifact(record, self._backends, self._where, folder, self._snapshot)

    def _wrap_dataframe(self, record: DataframeRecord) -> Dataframe:
        folder = self._backends.repositories[0].entity_dir(self._where, DataframeRecord, record.id)
        return Dataframe(record, self._backends, self._where, folder, self._snapshot)

    def _parent_id(self) -> str:
        raise NotImplementedError

    def log_artifact(
        self,
        data_bytes: bytes | None = None,
        data_file: Any = None,
        data_object: Any = None,
        data_path: str | Path | None = None,
        data_directory: str | Path | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
    ) -> Artifact:
        """Log bytes, a file, a pickled object, a path or a zipped folder as an artifact."""
        data, name = artifact_bytes(
            data_bytes, data_file, data_object, data_path, data_directory, name
        )
        record = ArtifactRecord(
            name=name,
            description=description,
            **labels(tags, comments),
            parent_id=self._parent_id(),
        )
        self._backends.write(lambda r: r.create_artifact(self._where, record, data))
        self._remember("artifacts", record)
        return self._wrap_artifact(record)

    def log_json(self, json_object: Any, name: str | None = None, **kwargs: Any) -> Artifact:
        name = name or datetime.now(UTC).strftime("dictionary-%Y_%m_%d-%I_%M_%S_%p.json")
        return self.log_artifact(data_bytes=dumps(json_object).encode(), name=name, **kwargs)

    def log_dataframe(
        self,
        df: Any,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
    ) -> Dataframe:
        """Log a pandas (or polars, dask) frame, stored as Parquet."""
        parquet = frames.to_parquet(df)
        record = DataframeRecord(
            name=name,
            description=description,
            **labels(tags, comments),
            parent_id=self._parent_id(),
        )
        self._backends.write(lambda r: r.create_dataframe(self._where, record, parquet))
        self._remember("dataframes", record)
        return self._wrap_dataframe(record)

    def _remember(self, folder: str, record: Any) -> None:
        if folder in self._cache:
            self._cache[folder].append(record)

    def _records(self, kind: type[E], folder: str) -> list[E]:
        if folder in self._cache:
            return list(self._cache[folder])
        if self._snapshot is not None and self._where.experiment is not None:
            records = self._snapshot.children(kind, folder, self._where.experiment)
            self._cache[folder] = records
            return list(records)
        where = self._where
        return self._backends.read(lambda r: r.get_children(where, kind))

    def artifacts(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Artifact]:
        items = [self._wrap_artifact(a) for a in self._records(ArtifactRecord, "artifacts")]
        return filter_by(items, name=name, tags=tags, qtype=qtype)

    def artifact(self, name: str | None = None, id: str | None = None) -> Artifact:
        return pick(self.artifacts(), name=name, id=id, kind="artifact")

    def delete_artifacts(self, ids: list[str]) -> None:
        for artifact_id in ids:
            delete = partial(_delete_by_id, where=self._where, kind=ArtifactRecord, id=artifact_id)
            self._backends.write(delete)
        self._forget("artifacts", ids)

    def dataframes(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Dataframe]:
        items = [self._wrap_dataframe(d) for d in self._records(DataframeRecord, "dataframes")]
        return filter_by(items, name=name, tags=tags, qtype=qtype)

    def dataframe(self, name: str | None = None, id: str | None = None) -> Dataframe:
        return pick(self.dataframes(), name=name, id=id, kind="dataframe")

    def delete_dataframes(self, ids: list[str]) -> None:
        for dataframe_id in ids:
            delete = partial(
                _delete_by_id, where=self._where, kind=DataframeRecord, id=dataframe_id
            )
            self._backends.write(delete)
        self._forget("dataframes", ids)

    def _forget(self, folder: str, ids: list[str]) -> None:
        if folder in self._cache:
            self._cache[folder] = [r for r in self._cache[folder] if r.id not in ids]


class Experiment(HasArtifacts, Annotated[ExperimentRecord]):
    """One run: its metrics, parameters, features, artifacts and dataframes."""

    def __init__(
        self,
        record: ExperimentRecord,
        backends: Backends,
        snapshot: Snapshot | None = None,
        annotations: Annotations | None = None,
    ) -> None:
        repository = backends.repositories[0]
        folder = repository.experiment_dir(record.project_name, record.id)
        Annotated.__init__(self, record, backends, folder, snapshot)
        self._annotations = annotations
        self._where = Where(record.project_name, record.id)
        self._cache = {}

    def _parent_id(self) -> str:
        return self.id

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
    ) -> Metric:
        """Log a metric. Without ``step`` a name can be logged once (as in rubicon-ml); with
        ``step`` each call adds a point to the metric's series, and the metric's value is
        the latest point (see :meth:`metric_history`)."""
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
            self._backends.write(lambda r: r.create_named(self._where, record))
        else:
            record.id = str(_series_id(self.id, name))
            point = {"step": step, "value": value, "timestamp": record.created_at}
            self._backends.write(lambda r: r.log_point(self._where, record, point))
        self._remember_named("metrics", record)
        return self._wrap(Metric, record)

    def metric_history(self, name: str) -> list[dict[str, Any]]:
        """The points of a stepped metric, by step: ``[{"step", "value", "timestamp"}]``."""
        return self._backends.read(lambda r: r.history(self._where, name))

    def metrics(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Metric]:
        return self._list_named(Metric, MetricRecord, "metrics", name, tags, qtype)

    def metric(self, name: str | None = None, id: str | None = None) -> Metric:
        return self._named(Metric, MetricRecord, "metrics", name, id)

    # -- parameters and features -------------------------------------------------------

    def log_parameter(
        self,
        name: str,
        value: Any = None,
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
    ) -> Parameter:
        record = ParameterRecord(
            name=name,
            value=value,
            description=description,
            **labels(tags, comments),
        )
        return self._log_named(Parameter, record, "parameters")

    def parameters(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Parameter]:
        return self._list_named(Parameter, ParameterRecord, "parameters", name, tags, qtype)

    def parameter(self, name: str | None = None, id: str | None = None) -> Parameter:
        return self._named(Parameter, ParameterRecord, "parameters", name, id)

    def log_feature(
        self,
        name: str,
        description: str | None = None,
        importance: float | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
    ) -> Feature:
        record = FeatureRecord(
            name=name,
            description=description,
            importance=importance,
            **labels(tags, comments),
        )
        return self._log_named(Feature, record, "features")

    def features(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Feature]:
        return self._list_named(Feature, FeatureRecord, "features", name, tags, qtype)

    def feature(self, name: str | None = None, id: str | None = None) -> Feature:
        return self._named(Feature, FeatureRecord, "features", name, id)

    # -- helpers -------------------------------------------------------------------------

    def _log_named(self, cls: type[C], record: Any, folder: str) -> C:
        """Write a metric/parameter/feature (once per name) and remember it."""
        self._backends.write(lambda r: r.create_named(self._where, record))
        self._remember_named(folder, record)
        return self._wrap(cls, record)

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
            self._backends.repositories[0].entity_dir, self._where, type(record), record.name
        )
        return cls(record, self._backends, folder, self._snapshot)

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


def _delete_by_id(repository: Repository, *, where: Where, kind: type, id: str) -> None:
    repository.delete_by_id(where, kind, id)


def _series_id(experiment_id: str, name: str) -> Any:
    """A stable id for a stepped metric, the same at every step (no read needed)."""
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"ferry:{experiment_id}/{slugify(name)}")
