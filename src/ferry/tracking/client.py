"""``Rubicon`` and ``Project``: the entry points of experiment tracking (seeds 000, 001).

::

    from ferry import Rubicon
    rubicon = Rubicon(persistence="filesystem", root_dir="s3://my-bucket/rubicon-root")
    project = rubicon.get_or_create_project("Example Project")
    experiment = project.log_experiment("baseline", tags=["rf"])
    experiment.log_parameter("n_estimators", 100)
    experiment.log_metric("accuracy", 0.93)
    project.to_df()
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import Any

from ferry.config import Settings, load_settings
from ferry.errors import RubiconException
from ferry.storage import Store
from ferry.storage.composite import CompositeStore
from ferry.tracking.annotated import filter_by, labels, warn_multiple
from ferry.tracking.backends import Backends, open_root, uses_sse_c
from ferry.tracking.codec import TrainingMetadata, slugify
from ferry.tracking.domain import Experiment as ExperimentRecord
from ferry.tracking.domain import Project as ProjectRecord
from ferry.tracking.entities import Dataframe, Experiment, HasArtifacts
from ferry.tracking.failure import failsafe
from ferry.tracking.options import storage_options as sort_options
from ferry.tracking.record_cache import SqliteRecordCache, default_cache_file
from ferry.tracking.repository import Repository, Where
from ferry.tracking.snapshot import Snapshot

__all__ = ["Project", "Rubicon"]

CACHE_MAX_BYTES = 512 * 1024**2
SETTLED_AFTER = 2.0  # seconds: a local record is cached once that much older than the read


class Rubicon:
    """Experiment tracking on memory, a local folder or S3, or several at once.

    Args:
        persistence: "memory" or "filesystem" (a local path or ``s3://bucket/prefix``).
        root_dir: where the projects live.
        auto_git_enabled: fill branch and commit of new experiments from the current repo.
        composite_config: several backends, e.g. ``[{"persistence": "filesystem",
            "root_dir": "./rootA"}, {"persistence": "filesystem", "root_dir": "s3://b/r"}]``;
            writes go to all, reads come from the first that answers.
        stores: stores to use directly instead of ``persistence``/``root_dir``.
        synchronous: False queues every write and returns at once (see :meth:`flush`);
            each logging call can also choose with its own ``synchronous=`` argument.
        cache: keep the records read in the user cache folder, keyed by ETag, so an
            unchanged project reads back at the cost of its listing (default: on for S3 and
            local roots, off in memory and with SSE-C; False switches it off).
        **storage_options: ferry settings (``endpoint_url``, ``region``, ``profile``,
            ``sse_c_key_file``, ``concurrency``, ``cache_dir``, ...) and the s3fs options
            rubicon-ml takes (``key``, ``secret``, ``token``, ``client_kwargs``, ...; see
            :mod:`ferry.tracking.options`).
    """

    def __init__(
        self,
        persistence: str = "filesystem",
        root_dir: str | None = None,
        auto_git_enabled: bool = False,
        composite_config: Sequence[dict[str, Any]] | None = None,
        *,
        stores: Sequence[Store] | None = None,
        synchronous: bool = True,
        cache: bool | None = None,
        **storage_options: Any,
    ) -> None:
        options = sort_options(storage_options)
        self.storage_options = options.settings
        settings = load_settings(options.settings)
        if stores is None:
            configs = composite_config or [{"persistence": persistence, "root_dir": root_dir}]
            stores = [open_root(dict(config), storage_options, options) for config in configs]
        if not stores:
            raise RubiconException("No storage backend configured.", "Give a root_dir.")
        store = stores[0] if len(stores) == 1 else CompositeStore(stores)
        repository = Repository(
            store,
            workers=_workers(stores, settings),
            cache=_cache(stores, settings, cache),
            settled_after=None if all(_on_s3(s) for s in stores) else SETTLED_AFTER,
        )
        self._backends = Backends(repository, synchronous=synchronous)
        self.auto_git_enabled = auto_git_enabled

    @property
    def repository(self) -> Repository:
        """The repository every call goes through."""
        return self._backends.repository

    @property
    def repositories(self) -> list[Repository]:
        return [self._backends.repository]

    @failsafe
    def create_project(
        self,
        name: str,
        description: str | None = None,
        github_url: str | None = None,
        training_metadata: Any = None,
    ) -> Project:
        """Create a project; a project of the same (slugified) name is an error."""
        if github_url is None and self.auto_git_enabled:
            github_url = _git("remote", "get-url", "origin")
        record = ProjectRecord(
            name=name,
            description=description,
            github_url=github_url,
            training_metadata=_training_metadata(training_metadata),
        )
        self._backends.write(lambda r: r.create_project(record), synchronous=True)
        return Project(record, self)

    @failsafe
    def get_project(self, name: str | None = None, id: str | None = None) -> Project:
        if (name is None) == (id is None):
            raise ValueError("`name` OR `id` required.")
        if name is not None:
            return Project(self._backends.read(lambda r: r.get_project(name)), self)
        found = [p for p in self.projects() if p.id == id]
        if not found:
            raise RubiconException(f"No project with id `{id}` found.")
        return found[0]

    @failsafe
    def get_project_as_df(
        self, name: str, df_type: str = "pandas", group_by: str | None = None
    ) -> Any:
        """The project's experiments as one table (see :meth:`Project.to_df`)."""
        return self.get_project(name).to_df(df_type=df_type, group_by=group_by)

    def get_project_as_dask_df(self, name: str, group_by: str | None = None) -> Any:
        """Deprecated in rubicon-ml: ``get_project_as_df(name, df_type="dask")``."""
        warnings.warn(
            "`get_project_as_dask_df` is deprecated and will be removed in a future release. "
            "use `get_project_as_df('name', df_type='dask') instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_project_as_df(name, df_type="dask", group_by=group_by)

    @failsafe
    def get_or_create_project(self, name: str, **kwargs: Any) -> Project:
        try:
            project = self.get_project(name=name)
        except RubiconException:
            project = None
        if project is not None:
            return project
        try:
            return self.create_project(name, **kwargs)
        except RubiconException:
            return self.get_project(name=name)  # created meanwhile by someone else

    @failsafe
    def projects(self) -> list[Project]:
        return [Project(p, self) for p in self._backends.read(lambda r: r.get_projects())]

    def flush(self) -> None:
        """Wait until every queued write has landed.

        Raises:
            RubiconException: a queued write failed (a duplicate name, say); several
                failures are named in one error.
        """
        self._backends.flush()

    def close(self) -> None:
        """Flush queued writes and stop the threads that send them."""
        self._backends.close()
        cache = self._backends.repository.cache
        if isinstance(cache, SqliteRecordCache):
            cache.close()

    def __enter__(self) -> Rubicon:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def sync(self, project_name: str, s3_root_dir: str) -> int:
        """Copy a project of this (local or memory) root to ``s3_root_dir`` through
        ferry's sync: new and changed files, compared by content (not size and time);
        nothing deleted on S3. Returns the number of files uploaded."""
        from ferry.tracking.sync import sync_project

        self.get_project(name=project_name)
        return sync_project(
            self.repository.store,
            slugify(project_name),
            s3_root_dir,
            load_settings(self.storage_options),
        )


def _workers(stores: Sequence[Store], settings: Settings) -> int:
    """Requests in flight when reading or queueing many records: the concurrency setting
    for S3, or when set explicitly; else one at a time in memory and on a local disk, where
    a pool of threads only adds overhead."""
    if any(s.url.startswith("s3://") for s in stores) or "concurrency" in settings.sources:
        return settings.concurrency
    return 1


def _on_s3(store: Store) -> bool:
    return store.url.startswith("s3://")


def _cache(
    stores: Sequence[Store], settings: Settings, wanted: bool | None
) -> SqliteRecordCache | None:
    """The record cache: for S3 and local roots (not memory), not with SSE-C (records
    would sit decrypted on disk), and not when switched off."""
    if wanted is False or uses_sse_c(settings):
        return None
    if not all(_on_s3(s) or s.url.startswith("file://") for s in stores):
        return None
    max_bytes = min(settings.cache_max_bytes, CACHE_MAX_BYTES)
    return SqliteRecordCache(default_cache_file(settings.cache_dir), max_bytes=max_bytes)


class Project(HasArtifacts):
    """A project: experiments, plus project-level artifacts and dataframes."""

    def __init__(self, record: ProjectRecord, rubicon: Rubicon) -> None:
        self._record = record
        self._rubicon = rubicon
        self._backends = rubicon._backends
        self._where = Where(record.name)
        self._cache = {}

    def _parent_id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def github_url(self) -> str | None:
        return self._record.github_url

    @property
    def created_at(self) -> Any:
        return self._record.created_at

    @property
    def training_metadata(self) -> Any:
        metadata = self._record.training_metadata
        return None if metadata is None else metadata.value

    @failsafe
    def log_experiment(
        self,
        name: str | None = None,
        description: str | None = None,
        model_name: str | None = None,
        branch_name: str | None = None,
        commit_hash: str | None = None,
        training_metadata: Any = None,
        tags: list[str] | None = None,
        comments: list[str] | None = None,
        synchronous: bool | None = None,
    ) -> Experiment:
        """Start an experiment (one run) in this project."""
        if self._rubicon.auto_git_enabled:
            branch_name = branch_name or _git("rev-parse", "--abbrev-ref", "HEAD")
            commit_hash = commit_hash or _git("rev-parse", "HEAD")
        record = ExperimentRecord(
            project_name=self.name,
            name=name,
            description=description,
            model_name=model_name,
            branch_name=branch_name,
            commit_hash=commit_hash,
            training_metadata=_training_metadata(training_metadata),
            **labels(tags, comments),
        )
        handle = self._backends.write(
            lambda r: r.create_experiment(record), synchronous=synchronous
        )
        experiment = Experiment(record, self)
        experiment._write = handle
        return experiment

    @failsafe
    def experiment(self, id: str | None = None, name: str | None = None) -> Experiment:
        if (name is None) == (id is None):
            raise ValueError("`name` OR `id` required.")
        if id is not None:
            record = self._backends.read(lambda r: r.get_experiment(self.name, id))
            return Experiment(record, self)
        found = self.experiments(name=name)
        if not found:
            raise RubiconException(f"No experiment found with name '{name}'.")
        if len(found) > 1:
            warn_multiple("experiment", str(name))
        return found[-1]

    @failsafe
    def experiments(
        self, tags: list[str] | None = None, qtype: str = "or", name: str | None = None
    ) -> list[Experiment]:
        """Every experiment (oldest first), filtered by tags (``qtype`` "or"/"and",
        ``*`` wildcards) and name. One listing serves them all (see ``Snapshot``)."""

        def load(repository: Repository) -> list[Experiment]:
            snapshot = Snapshot(repository, self.name)
            records, annotations = snapshot.experiments()
            return [Experiment(r, self, snapshot, annotations[r.id]) for r in records]

        return filter_by(self._backends.read(load), name=name, tags=tags, qtype=qtype)

    @failsafe
    def dataframes(
        self,
        name: str | None = None,
        tags: list[str] | None = None,
        qtype: str = "or",
        recursive: bool = False,
    ) -> list[Dataframe]:
        """The project's dataframes; with ``recursive`` its experiments' ones too."""
        found = HasArtifacts.dataframes(self, name=name, tags=tags, qtype=qtype)
        if recursive:
            for experiment in self.experiments():
                found += experiment.dataframes(name=name, tags=tags, qtype=qtype)
        return found

    @failsafe
    def delete_experiments(self, ids: list[str]) -> None:
        for experiment_id in ids:
            delete = partial(
                Repository.delete_experiment, project=self.name, experiment_id=experiment_id
            )
            self._backends.write(delete, synchronous=True)

    @failsafe
    def to_df(self, df_type: str = "pandas", group_by: str | None = None) -> Any:
        """One row per experiment, newest first: id, name, description, model_name,
        commit_hash, tags, created_at, then each parameter and each metric as a column."""
        from ferry.tracking.table import experiments_frame

        return experiments_frame(self.experiments(), df_type=df_type, group_by=group_by)

    @failsafe
    def archive(
        self, experiments: list[Experiment] | None = None, remote_rubicon: Rubicon | None = None
    ) -> str:
        """Zip the experiments (all by default) into ``<root>/<project>/archives/`` of
        this root or of ``remote_rubicon``'s; the archive's path."""
        from ferry.tracking.archive import write_archive

        if not self.experiments():
            raise ValueError("`project` has no logged `experiments` to archive")
        if experiments is not None and (
            not isinstance(experiments, list)
            or not all(isinstance(e, Experiment) for e in experiments)
        ):
            raise ValueError("`experiments` must be `list` of type `ferry.tracking.Experiment`")
        target = self._backends.repository.store
        if remote_rubicon is not None:
            target = _rubicon_of(remote_rubicon).repository.store
        ids = None if experiments is None else [e.id for e in experiments]
        return self._backends.read(lambda r: write_archive(r, self.name, ids, target))

    @failsafe
    def experiments_from_archive(self, remote_rubicon: Rubicon, latest_only: bool = False) -> int:
        """Unpack the archives ``remote_rubicon`` holds for this project into this
        project's experiments (only the newest with ``latest_only``); the number of
        experiments added."""
        from ferry.tracking.archive import read_archives

        source = _rubicon_of(remote_rubicon).repository.store
        return self._backends.read(lambda r: read_archives(r, self.name, source, latest_only))

    def __str__(self) -> str:
        """The record, as rubicon-ml prints a project (its domain dataclass)."""
        return repr(self._record)


def _rubicon_of(value: Any) -> Rubicon:
    if not isinstance(value, Rubicon):
        raise ValueError("`remote_rubicon` must be of type `ferry.tracking.Rubicon`")
    return value


def _training_metadata(value: Any) -> TrainingMetadata | None:
    if value is None or isinstance(value, TrainingMetadata):
        return value
    return TrainingMetadata(value)


def _git(*args: str) -> str | None:
    """A value from the git repository of the current folder, or None outside one."""
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
