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
from collections.abc import Sequence
from functools import partial
from typing import Any

from ferry.config import load_settings
from ferry.errors import RubiconException
from ferry.storage import Store, open_store
from ferry.tracking.backends import Backends
from ferry.tracking.codec import TrainingMetadata, slugify
from ferry.tracking.domain import Experiment as ExperimentRecord
from ferry.tracking.domain import Project as ProjectRecord
from ferry.tracking.entities import Experiment, HasArtifacts, filter_by, labels
from ferry.tracking.repository import Repository, Where
from ferry.tracking.snapshot import Snapshot

__all__ = ["Project", "Rubicon"]

PERSISTENCES = ("memory", "filesystem")


class Rubicon:
    """Experiment tracking on memory, a local folder or S3, or several at once.

    Args:
        persistence: "memory" or "filesystem" (a local path or ``s3://bucket/prefix``).
        root_dir: where the projects live.
        composite_config: several backends, e.g. ``[{"persistence": "filesystem",
            "root_dir": "./rootA"}, {"persistence": "filesystem", "root_dir": "s3://b/r"}]``;
            writes go to all, reads come from the first that answers.
        auto_git_enabled: fill branch and commit of new experiments from the current repo.
        stores: stores to use directly instead of ``persistence``/``root_dir``.
        **storage_options: ferry settings for S3 (``endpoint_url``, ``region``,
            ``profile``, ``sse_c_key_file``, ``storage_class``, ``concurrency``, ...).
    """

    def __init__(
        self,
        persistence: str = "filesystem",
        root_dir: str | None = None,
        composite_config: Sequence[dict[str, Any]] | None = None,
        auto_git_enabled: bool = False,
        *,
        stores: Sequence[Store] | None = None,
        **storage_options: Any,
    ) -> None:
        self.storage_options = storage_options
        if stores is None:
            configs = composite_config or [{"persistence": persistence, "root_dir": root_dir}]
            stores = [self._open(dict(config)) for config in configs]
        settings = load_settings(self._settings_only(storage_options))
        self._backends = Backends(
            [Repository(s, workers=getattr(s, "concurrency", settings.concurrency)) for s in stores]
        )
        self.auto_git_enabled = auto_git_enabled

    @staticmethod
    def _settings_only(options: dict[str, Any]) -> dict[str, Any]:
        from dataclasses import fields

        from ferry.config import Settings

        known = {f.name for f in fields(Settings)}
        unknown = set(options) - known
        if unknown:
            raise RubiconException(
                f"Unknown storage option(s): {sorted(unknown)}.",
                f"Use ferry settings: {sorted(known - {'sources'})}.",
            )
        return options

    def _open(self, config: dict[str, Any]) -> Store:
        persistence = config.pop("persistence", "filesystem")
        root_dir = config.pop("root_dir", None)
        if persistence not in PERSISTENCES:
            raise RubiconException(
                f"persistence must be one of {list(PERSISTENCES)}, not {persistence!r}."
            )
        if persistence == "memory":
            from ferry.storage.memory import MemoryStore

            return MemoryStore(root_dir or "")
        if not root_dir:
            raise RubiconException(
                "persistence='filesystem' needs a root_dir.",
                "Pass root_dir='./rubicon-root' or 's3://bucket/prefix'.",
            )
        overrides = self._settings_only({**self.storage_options, **config})
        return open_store(str(root_dir), settings=load_settings(overrides))

    @property
    def repositories(self) -> list[Repository]:
        return self._backends.repositories

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
        self._backends.write(lambda r: r.create_project(record))
        return Project(record, self)

    def get_project(self, name: str | None = None, id: str | None = None) -> Project:
        if (name is None) == (id is None):
            raise ValueError("`name` OR `id` required.")
        if name is not None:
            return Project(self._backends.read(lambda r: r.get_project(name)), self)
        found = [p for p in self.projects() if p.id == id]
        if not found:
            raise RubiconException(f"No project with id `{id}` found.")
        return found[0]

    def get_or_create_project(self, name: str, **kwargs: Any) -> Project:
        try:
            return self.get_project(name=name)
        except RubiconException:
            try:
                return self.create_project(name, **kwargs)
            except RubiconException:
                return self.get_project(name=name)  # created meanwhile by someone else

    def projects(self) -> list[Project]:
        return [Project(p, self) for p in self._backends.read(lambda r: r.get_projects())]

    def sync(self, project_name: str, s3_root_dir: str) -> int:
        """Copy a local project to ``s3_root_dir`` with ferry's own transfers (new or
        changed files only); returns the number of files uploaded."""
        from ferry.storage.local import LocalStore
        from ferry.tracking.sync import push_changed

        local = self.repositories[0].store
        if not isinstance(local, LocalStore):
            raise RubiconException("Projects can only be synced from local or S3 filesystems.")
        self.get_project(name=project_name)
        target = open_store(s3_root_dir, settings=load_settings(self.storage_options))
        return push_changed(
            local, target, slugify(project_name), workers=self.repositories[0].workers
        )


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
        self._backends.write(lambda r: r.create_experiment(record))
        return Experiment(record, self._backends)

    def experiment(self, id: str | None = None, name: str | None = None) -> Experiment:
        if (name is None) == (id is None):
            raise ValueError("`name` OR `id` required.")
        if id is not None:
            return Experiment(
                self._backends.read(lambda r: r.get_experiment(self.name, id)), self._backends
            )
        found = self.experiments(name=name)
        if not found:
            raise RubiconException(f"No experiment found with name '{name}'.")
        return found[-1]

    def experiments(
        self, tags: list[str] | None = None, qtype: str = "or", name: str | None = None
    ) -> list[Experiment]:
        """Every experiment (oldest first), filtered by tags (``qtype`` "or"/"and",
        ``*`` wildcards) and name. One listing serves them all (see ``Snapshot``)."""

        def load(repository: Repository) -> list[Experiment]:
            snapshot = Snapshot(repository, self.name)
            records, annotations = snapshot.experiments()
            return [Experiment(r, self._backends, snapshot, annotations[r.id]) for r in records]

        return filter_by(self._backends.read(load), name=name, tags=tags, qtype=qtype)

    def delete_experiments(self, ids: list[str]) -> None:
        for experiment_id in ids:
            self._backends.write(
                partial(
                    Repository.delete_experiment, project=self.name, experiment_id=experiment_id
                )
            )

    def to_df(self, df_type: str = "pandas", group_by: str | None = None) -> Any:
        """One row per experiment, newest first: id, name, description, model_name,
        commit_hash, tags, created_at, then each parameter and each metric as a column."""
        from ferry.tracking.table import experiments_frame

        return experiments_frame(self.experiments(), df_type=df_type, group_by=group_by)

    def __repr__(self) -> str:
        return f"<Project {self.name!r} id={self.id}>"


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
