"""Artifacts and dataframes: data kept beside a record, logged to a project or an
experiment, and the behaviour both of those share (:class:`HasArtifacts`)."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ferry.tracking import artifacts as sources
from ferry.tracking import frames
from ferry.tracking.annotated import Annotated, filter_by, labels, pick
from ferry.tracking.backends import Backends
from ferry.tracking.codec import dumps, loads
from ferry.tracking.domain import Artifact as ArtifactRecord
from ferry.tracking.domain import Dataframe as DataframeRecord
from ferry.tracking.domain import E
from ferry.tracking.failure import failsafe
from ferry.tracking.repository import Repository, Where
from ferry.tracking.snapshot import Snapshot

__all__ = ["Artifact", "Dataframe", "HasArtifacts"]

S = TypeVar("S", bound="ArtifactRecord | DataframeRecord")


class Stored(Annotated[S]):
    """An artifact or dataframe, owned by a project or an experiment (``parent_id``)."""

    def __init__(
        self,
        record: S,
        backends: Backends,
        where: Where,
        folder: str,
        snapshot: Snapshot | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(record, backends, folder, snapshot, parent)
        self._where = where

    @property
    def parent_id(self) -> str | None:
        return self._record.parent_id


class Artifact(Stored[ArtifactRecord]):
    """Any file logged to a project or an experiment (a model, a plot, a zipped folder)."""

    @property
    def data(self) -> bytes:
        """The artifact's bytes (deprecated in rubicon-ml: use :meth:`get_data`)."""
        warnings.warn("`data` is deprecated, use `get_data()` instead", DeprecationWarning, 2)
        return self._bytes()

    def _bytes(self) -> bytes:
        return self._backends.read(lambda r: r.get_data(self._where, ArtifactRecord, self.id))

    @failsafe
    def get_data(self, deserialize: str | None = None, unpickle: bool = False) -> Any:
        """The artifact's bytes, or what they hold: ``deserialize`` is "pickle",
        "xgboost", "h2o_binary" (or "h2o") or "h2o_mojo"."""
        if unpickle:
            warnings.warn(
                "`unpickle` is deprecated, please use `deserialize='pickle'` instead",
                DeprecationWarning,
                stacklevel=3,
            )
            deserialize = "pickle"
        if deserialize == "h2o":
            warnings.warn(
                "'deserialize' method 'h2o' will be deprecated in a future release, please use"
                " 'h2o_binary' instead.",
                DeprecationWarning,
                stacklevel=3,
            )
        return sources.deserialize_artifact(self._bytes(), deserialize, self.name)

    @failsafe
    def get_json(self) -> Any:
        return loads(self._bytes())

    @failsafe
    def download(
        self, location: str | Path | None = None, name: str | None = None, unzip: bool = False
    ) -> Path:
        """Write the artifact into folder ``location`` (the current one by default), or
        with ``unzip`` extract it there; the file or folder written."""
        folder = Path(location or ".")
        data = self._bytes()
        if unzip:
            sources.unzip(data, folder)
            return folder
        from ferry.storage.local import write_atomically

        target = folder / (name or self.name)
        write_atomically(target, [data])
        return target

    @contextlib.contextmanager
    def temporary_download(self, unzip: bool = False) -> Iterator[str]:
        """A temporary folder holding the artifact (under its name, or unzipped), removed
        when the ``with`` block ends."""
        with tempfile.TemporaryDirectory() as folder:
            self.download(location=folder, unzip=unzip)
            yield folder


class Dataframe(Stored[DataframeRecord]):
    """A table logged to a project or an experiment, stored as Parquet."""

    @failsafe
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

    def _repository(self) -> Repository:
        return self._backends.repository

    def _wrap_artifact(self, record: ArtifactRecord) -> Artifact:
        folder = self._repository().entity_dir(self._where, ArtifactRecord, record.id)
        return Artifact(record, self._backends, self._where, folder, self._snapshot, self)

    def _wrap_dataframe(self, record: DataframeRecord) -> Dataframe:
        folder = self._repository().entity_dir(self._where, DataframeRecord, record.id)
        return Dataframe(record, self._backends, self._where, folder, self._snapshot, self)

    def _parent_id(self) -> str:
        raise NotImplementedError

    @failsafe
    def log_artifact(
        self,
        data_bytes: bytes | None = None,
        data_directory: str | Path | None = None,
        data_file: Any = None,
        data_object: Any = None,
        data_path: str | Path | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
    ) -> Artifact:
        """Log bytes, a file, a pickled object, a path or a zipped folder as an artifact."""
        data, name = sources.artifact_bytes(
            data_bytes, data_file, data_object, data_path, data_directory, name
        )
        record = ArtifactRecord(
            name=name,
            description=description,
            **labels(tags, comments),
            parent_id=self._parent_id(),
        )
        where = self._where
        handle = self._backends.write(lambda r: r.create_artifact(where, record, data))
        self._remember("artifacts", record)
        artifact = self._wrap_artifact(record)
        artifact._write = handle
        return artifact

    @failsafe
    def log_json(
        self,
        json_object: Any,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
    ) -> Artifact:
        name = name or datetime.now(UTC).strftime("dictionary-%Y_%m_%d-%I_%M_%S_%p.json")
        data = dumps(json_object).encode()
        return self.log_artifact(data_bytes=data, name=name, description=description, tags=tags)

    @failsafe
    def log_conda_environment(self, artifact_name: str | None = None) -> Artifact:
        """Log ``conda env export`` (the active conda environment) as an artifact."""
        name = artifact_name or datetime.now().strftime("environment-%Y_%m_%d-%I_%M_%S_%p.yml")
        return self.log_artifact(data_bytes=sources.conda_environment(), name=name)

    @failsafe
    def log_pip_requirements(self, artifact_name: str | None = None) -> Artifact:
        """Log ``pip freeze`` of the running interpreter as an artifact."""
        name = artifact_name or datetime.now().strftime("requirements-%Y_%m_%d-%I_%M_%S_%p.txt")
        return self.log_artifact(data_bytes=sources.pip_requirements(), name=name)

    @failsafe
    def log_xgboost_model(
        self, xgboost_model: Any, artifact_name: str | None = None, **log_artifact_kwargs: Any
    ) -> Artifact:
        """Log an xgboost ``Booster`` as its JSON model file (read it back with
        ``get_data(deserialize="xgboost")``)."""
        name = artifact_name or type(xgboost_model).__name__
        data = sources.xgboost_bytes(xgboost_model, name)
        return self.log_artifact(data_bytes=data, name=name, **log_artifact_kwargs)

    @failsafe
    def log_h2o_model(
        self,
        h2o_model: Any,
        artifact_name: str | None = None,
        export_cross_validation_predictions: bool = False,
        use_mojo: bool = False,
        **log_artifact_kwargs: Any,
    ) -> Artifact:
        """Log an h2o model, saved with ``h2o.save_model`` (or as a MOJO)."""
        name = artifact_name or type(h2o_model).__name__
        data = sources.h2o_bytes(h2o_model, name, export_cross_validation_predictions, use_mojo)
        return self.log_artifact(data_bytes=data, name=name, **log_artifact_kwargs)

    @failsafe
    def log_dataframe(
        self,
        df: Any,
        description: str | None = None,
        name: str | None = None,
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
        where = self._where
        handle = self._backends.write(lambda r: r.create_dataframe(where, record, parquet))
        self._remember("dataframes", record)
        dataframe = self._wrap_dataframe(record)
        dataframe._write = handle
        return dataframe

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

    @failsafe
    def artifacts(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Artifact]:
        items = [self._wrap_artifact(a) for a in self._records(ArtifactRecord, "artifacts")]
        return filter_by(items, name=name, tags=tags, qtype=qtype)

    @failsafe
    def artifact(self, name: str | None = None, id: str | None = None) -> Artifact:
        return pick(self.artifacts(), name=name, id=id, kind="artifact")

    @failsafe
    def delete_artifacts(self, ids: list[str]) -> None:
        for artifact_id in ids:
            delete = partial(_delete_by_id, where=self._where, kind=ArtifactRecord, id=artifact_id)
            self._backends.write(delete, synchronous=True)
        self._forget("artifacts", ids)

    @failsafe
    def dataframes(
        self, name: str | None = None, tags: list[str] | None = None, qtype: str = "or"
    ) -> list[Dataframe]:
        items = [self._wrap_dataframe(d) for d in self._records(DataframeRecord, "dataframes")]
        return filter_by(items, name=name, tags=tags, qtype=qtype)

    @failsafe
    def dataframe(self, name: str | None = None, id: str | None = None) -> Dataframe:
        return pick(self.dataframes(), name=name, id=id, kind="dataframe")

    @failsafe
    def delete_dataframes(self, ids: list[str]) -> None:
        for dataframe_id in ids:
            delete = partial(
                _delete_by_id, where=self._where, kind=DataframeRecord, id=dataframe_id
            )
            self._backends.write(delete, synchronous=True)
        self._forget("dataframes", ids)

    def _forget(self, folder: str, ids: list[str]) -> None:
        if folder in self._cache:
            self._cache[folder] = [r for r in self._cache[folder] if r.id not in ids]


def _delete_by_id(repository: Repository, *, where: Where, kind: type, id: str) -> None:
    repository.delete_by_id(where, kind, id)
