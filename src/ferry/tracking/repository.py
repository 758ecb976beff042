"""Tracked entities in a Store, in rubicon-ml's filesystem layout.

::

    <root>/<slug(project)>/metadata.json
        artifacts/<id>/{data, metadata.json}
        dataframes/<id>/{data/data.parquet, metadata.json}
        experiments/<id>/metadata.json
            metrics/<slug>/metadata.json     parameters/<slug>/...    features/<slug>/...
            artifacts/<id>/...               dataframes/<id>/...
        <entity folder>/tags_<uuid>.json, comments_<uuid>.json
        history/<experiment id>/<metric slug>/<step>.json     (ferry's metric steps,
            and chunks/chunk-*.json: the same steps, many at once; see series.py)

Where rubicon-ml does a HEAD, a LIST and a PUT to log a metric, this repository does one
create-only PUT: the store refuses a second metric of the same name atomically. Reads of
many entities list once and fetch the ``metadata.json`` files concurrently; records whose
listed ETag is in the record cache are not fetched at all. Metric steps live outside
``experiments/`` so that listing a project's experiments does not grow with their steps.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ferry.errors import (
    AlreadyExistsError,
    FerryError,
    MultiError,
    NotFoundError,
    RubiconException,
)
from ferry.storage.base import ObjectInfo, Store
from ferry.storage.batch import run_many
from ferry.tracking.codec import dumps, loads, slugify
from ferry.tracking.domain import (
    Artifact,
    Dataframe,
    E,
    Experiment,
    Feature,
    Metric,
    Parameter,
    Project,
    from_record,
    to_record,
)
from ferry.tracking.record_cache import RecordCache
from ferry.tracking.series import (
    CHUNKS,
    Chunk,
    Chunks,
    is_announcement,
    is_chunk,
    merge,
    sealed,
    step_of,
)

_log = logging.getLogger("ferry.tracking")

__all__ = ["Annotations", "Repository", "Where", "plain", "warn_missing"]

METADATA = "metadata.json"
_NAMED = {Metric: "metrics", Parameter: "parameters", Feature: "features"}
_BY_ID = {Artifact: "artifacts", Dataframe: "dataframes"}


@dataclass(frozen=True)
class Where:
    """Which project, and optionally which experiment, an entity belongs to."""

    project: str
    experiment: str | None = None


@dataclass(frozen=True)
class Annotations:
    """The tags_/comments_ records of one entity folder, in the order to apply them."""

    records: list[dict[str, list[str]]]

    def apply(self, tags: list[str], comments: list[str]) -> tuple[list[str], list[str]]:
        """Merge like rubicon-ml: once any record exists, tags and comments act as sets."""
        if not self.records:
            return list(tags), list(comments)
        tag_set, comment_list = set(tags), list(comments)
        for record in self.records:
            tag_set = (tag_set | set(record.get("added_tags", []))) - set(
                record.get("removed_tags", [])
            )
            comment_list = comment_list + list(record.get("added_comments", []))
            removed = set(record.get("removed_comments", []))
            comment_list = [c for c in dict.fromkeys(comment_list) if c not in removed]
        return sorted(tag_set), comment_list


def warn_missing(url: str, key: str) -> None:
    """rubicon-ml's warning for a folder without its ``metadata.json`` (such as a stray
    ``.ipynb_checkpoints``), in rubicon-ml's words (a local root as a plain path)."""
    warnings.warn(
        f"{plain(url)}/{key} not found. Was this file unintentionally created?", stacklevel=2
    )


def plain(url: str) -> str:
    """A ``file://`` URL as a plain path; other URLs as they are."""
    if url.startswith("file://"):
        from pathlib import Path
        from urllib.parse import unquote, urlparse

        return str(Path(unquote(urlparse(url).path)))
    return url


def _is_duplicate(exc: BaseException) -> bool:
    if isinstance(exc, AlreadyExistsError):
        return True
    return isinstance(exc, MultiError) and any(
        isinstance(error, AlreadyExistsError) for _, error in exc.failures
    )


class Repository:
    """Reads and writes tracked entities in one store.

    Args:
        store: where the root lives (memory, a local folder, ``s3://bucket/prefix``, or a
            CompositeStore of several).
        workers: how many requests run at once when reading or writing many entities.
        cache: where records fetched once are kept (nothing is kept by default).
        settled_after: None where an ETag changes with the content (S3); on a local disk,
            whose ETag is the size and modification time, records modified more recently
            than this many seconds before a read are not kept.
    """

    def __init__(
        self,
        store: Store,
        *,
        workers: int = 32,
        cache: RecordCache | None = None,
        settled_after: float | None = None,
    ) -> None:
        self.store = store
        self.workers = workers
        self.write_workers = workers
        self.cache = cache
        self.settled_after = settled_after
        self.chunks = Chunks()

    # -- paths -------------------------------------------------------------------------

    @staticmethod
    def project_dir(name: str) -> str:
        return slugify(name)

    def experiments_dir(self, project: str) -> str:
        return f"{slugify(project)}/experiments"

    def parent_dir(self, where: Where) -> str:
        if where.experiment is None:
            return slugify(where.project)
        return f"{self.experiments_dir(where.project)}/{where.experiment}"

    def entity_dir(self, where: Where, kind: type, identifier: str) -> str:
        """The folder of one metric/parameter/feature (by name) or artifact/dataframe (by id)."""
        if kind in _NAMED:
            return f"{self.parent_dir(where)}/{_NAMED[kind]}/{slugify(identifier)}"
        return f"{self.parent_dir(where)}/{_BY_ID[kind]}/{identifier}"

    def experiment_dir(self, project: str, experiment_id: str) -> str:
        return f"{self.experiments_dir(project)}/{experiment_id}"

    @staticmethod
    def history_dir(where: Where, name: str) -> str:
        """The folder of one metric's steps."""
        return f"{slugify(where.project)}/history/{where.experiment}/{slugify(name)}"

    # -- generic -----------------------------------------------------------------------

    def _create(self, folder: str, entity: Any, duplicate: str | None) -> None:
        """Write ``folder/metadata.json``; refuse atomically if ``duplicate`` is set."""
        data = dumps(to_record(entity)).encode()
        key = f"{folder}/{METADATA}"
        try:
            self.store.put(key, data, mode="create" if duplicate else "overwrite")
        except (AlreadyExistsError, MultiError) as exc:
            if not _is_duplicate(exc):
                raise
            raise RubiconException(duplicate or f"{key} already exists.") from None

    def _read(self, kind: type[E], folder: str, missing: str) -> E:
        try:
            return from_record(kind, loads(self.store.get(f"{folder}/{METADATA}")))
        except NotFoundError:
            raise RubiconException(missing) from None

    def _read_many(self, kind: type[E], keys: Sequence[str]) -> list[E]:
        """Fetch ``metadata.json`` files concurrently; sorted by creation time like
        rubicon-ml. A folder without one is skipped, with rubicon-ml's warning."""
        if not keys:
            return []
        fetched = self.fetch(keys, missing_ok=True)
        for key in keys:
            if key not in fetched:
                warn_missing(self.store.url, key)
        entities = [from_record(kind, loads(fetched[k])) for k in keys if k in fetched]
        return sorted(entities, key=lambda e: e.created_at)

    def fetch_listed(self, listed: Iterable[ObjectInfo]) -> dict[str, bytes]:
        """The content of objects just listed: from the record cache when the listed ETag
        matches, else fetched concurrently (and then cached). Objects gone since the
        listing are left out."""
        listed = list(listed)
        wanted = {info.key: info.etag for info in listed}
        if self.cache is None:  # the content alone is cheaper to read than with its ETag
            return self.fetch(wanted, missing_ok=True)
        found = self.cache.get_many(self.store.url, wanted) if wanted else {}
        missing = [info for info in listed if info.key not in found]
        if missing:
            fresh = (
                self._fetch_for_cache(missing)
                if self.settled_after is None
                else (self._fetch_settled(missing, found))
            )
            self.cache.put_many(self.store.url, fresh)
            found.update((key, data) for key, _, data in fresh)
        return found

    def _fetch_for_cache(self, missing: list[ObjectInfo]) -> list[tuple[str, str, bytes]]:
        """Content with the ETag S3 sent with it (the content's own, whatever the listing
        said)."""

        def get(key: str) -> tuple[str, bytes] | None:
            try:
                stored = self.store.get_object(key)
            except NotFoundError:
                return None
            return stored.info.etag, stored.data

        calls = {info.key: partial(get, info.key) for info in missing}
        results = run_many(f"Reading {self.store.url}", calls, self.workers)
        return [(key, got[0], got[1]) for key, got in results.items() if got is not None]

    def _fetch_settled(
        self, missing: list[ObjectInfo], found: dict[str, bytes]
    ) -> list[tuple[str, str, bytes]]:
        """Local records, kept under their listed ETag (size and modification time) only
        when last modified ``settled_after`` seconds before now: any later rewrite then
        has another modification time, however coarse the disk's clock."""
        started = time.time()
        data = self.fetch([info.key for info in missing], missing_ok=True)
        settled = started - (self.settled_after or 0.0)
        kept = [
            (info.key, info.etag, data[info.key])
            for info in missing
            if info.key in data and info.mtime.timestamp() < settled
        ]
        found.update(data)
        return kept

    def fetch(self, keys: Iterable[str], *, missing_ok: bool = False) -> dict[str, bytes]:
        """Many objects at once, from a bounded pool of workers."""

        def get(key: str) -> bytes | None:
            try:
                return self.store.get(key)
            except NotFoundError:
                if missing_ok:
                    return None
                raise

        calls = {k: partial(get, k) for k in keys}
        results = run_many(f"Reading {self.store.url}", calls, self.workers)
        return {k: v for k, v in results.items() if v is not None}

    def child_metadata_keys(self, folder: str) -> list[str]:
        """``folder/<child>/metadata.json`` for each child folder (one listing)."""
        listing = self.store.ls(f"{folder}/")
        return [f"{prefix}{METADATA}" for prefix in listing.prefixes]

    def walk(self, folder: str) -> list[ObjectInfo]:
        """Every object below ``folder`` (one paginated listing)."""
        return list(self.store.list(f"{folder}/"))

    # -- projects ----------------------------------------------------------------------

    def create_project(self, project: Project) -> None:
        self._create(
            self.project_dir(project.name),
            project,
            f"A project with name '{project.name}' already exists.",
        )

    def get_project(self, name: str) -> Project:
        return self._read(Project, self.project_dir(name), f"No project with name '{name}' found.")

    def get_projects(self) -> list[Project]:
        return self._read_many(Project, [f"{p}{METADATA}" for p in self.store.ls("").prefixes])

    # -- experiments -------------------------------------------------------------------

    def create_experiment(self, experiment: Experiment) -> None:
        self._create(self.experiment_dir(experiment.project_name, experiment.id), experiment, None)

    def get_experiment(self, project: str, experiment_id: str) -> Experiment:
        return self._read(
            Experiment,
            self.experiment_dir(project, experiment_id),
            f"No experiment with id `{experiment_id}` found.",
        )

    def get_experiments(self, project: str) -> list[Experiment]:
        return self._read_many(Experiment, self.child_metadata_keys(self.experiments_dir(project)))

    def delete_experiment(self, project: str, experiment_id: str) -> None:
        history = f"{slugify(project)}/history/{experiment_id}/"
        self.chunks.forget(history)  # no chunk of it is written at close
        steps = [info.key for info in self.store.list(history)]
        self._delete_tree(self.experiment_dir(project, experiment_id))
        if steps:
            self.store.delete(steps)

    # -- metrics, parameters, features ---------------------------------------------------

    def create_named(self, where: Where, entity: Metric | Parameter | Feature) -> None:
        label = _NAMED[type(entity)][:-1]
        self._create(
            self.entity_dir(where, type(entity), entity.name),
            entity,
            f"A {label} with name '{entity.name}' already exists.",
        )

    def get_named(self, where: Where, kind: type[E], name: str) -> E:
        label = _NAMED[kind][:-1]
        return self._read(
            kind, self.entity_dir(where, kind, name), f"No {label} with name '{name}' found."
        )

    def get_children(self, where: Where, kind: type[E]) -> list[E]:
        folder = f"{self.parent_dir(where)}/{_NAMED.get(kind) or _BY_ID[kind]}"
        return self._read_many(kind, self.child_metadata_keys(folder))

    def log_point(self, where: Where, metric: Metric, point: dict[str, Any]) -> None:
        """Add one step of a metric series, then make it the metric's current value."""
        step = point["step"]
        series = self.history_dir(where, metric.name)
        key = f"{series}/{step:020d}.json"
        writer = self.chunks.announce(series, partial(self._announce, series))
        try:
            self.store.put(key, dumps(point).encode(), mode="create")
        except BaseException as exc:
            # a plain refusal stored nothing; any other failure may have stored the step
            # (in one backend of several, or before the answer was lost)
            maybe_stored = not isinstance(exc, AlreadyExistsError)
            self.chunks.abandon(writer, maybe_stored=maybe_stored)
            if not isinstance(exc, (AlreadyExistsError, MultiError)) or not _is_duplicate(exc):
                raise
            raise RubiconException(
                f"Metric '{metric.name}' already has a value at step {step}.",
                "Log each step once; use the next step number.",
            ) from None
        full = self.chunks.add(series, writer, point)  # stored: in a chunk, whatever follows
        try:
            folder = self.entity_dir(where, Metric, metric.name)
            self.store.put(f"{folder}/{METADATA}", dumps(to_record(metric)).encode())
        finally:
            if full is not None:
                self._write_chunk(full)

    def _announce(self, series: str, name: str) -> None:
        """This client's announcement as a writer of ``series``, before its first step
        there (see series.py): it fails the logging call if it cannot be written."""
        self.store.put(f"{series}/{CHUNKS}/{name}", b"[]")

    def _write_chunk(self, chunk: Chunk) -> None:
        """A chunk only saves readers requests: its steps are stored one by one already,
        so a chunk that cannot be written is left out rather than failing the logging call
        (readers then list the series)."""
        try:
            key = f"{chunk.series}/{CHUNKS}/{chunk.name}"
            self.store.put(key, dumps(chunk.points).encode())
        except FerryError as exc:
            _log.debug("steps of %s not written as a chunk: %s", chunk.series, exc)

    def write_chunks(self) -> None:
        """Write the steps logged since the last chunk of each series as its last chunk,
        marked as the end (at close: later readers then read a few chunks and list no
        step)."""
        for chunk in self.chunks.drain():
            self._write_chunk(chunk)

    def history(self, where: Where, name: str) -> list[dict[str, Any]]:
        """The steps of a metric, by step: when its chunks are whole (every writer closed,
        no chunk missing), the chunks alone; else one listing of the series, its chunks,
        and the steps no chunk holds (unchanged objects from the record cache)."""
        series = self.history_dir(where, name)
        chunks_listed = list(self.store.list(f"{series}/{CHUNKS}/"))
        if sealed(info.key for info in chunks_listed):
            wanted = [info for info in chunks_listed if not is_announcement(info.key)]
            found = self.fetch_listed(wanted)
            if len(found) == len(wanted):  # none gone since the listing
                return merge((loads(data) for data in found.values()), ())
        listed = list(self.store.list(f"{series}/"))
        if not listed:
            self.get_named(where, Metric, name)  # raises if the metric does not exist
        chunk_keys = [o for o in listed if is_chunk(o.key) and not is_announcement(o.key)]
        chunks = [loads(data) for data in self.fetch_listed(chunk_keys).values()]
        held = {point["step"] for chunk in chunks for point in chunk}
        loose = [o for o in listed if not is_chunk(o.key) and step_of(o.key) not in held]
        steps = self.fetch_listed(loose)
        return merge(chunks, (loads(data) for data in steps.values()))

    # -- artifacts and dataframes --------------------------------------------------------

    def create_artifact(self, where: Where, artifact: Artifact, data: bytes) -> None:
        folder = self.entity_dir(where, Artifact, artifact.id)
        self.store.put(f"{folder}/data", data)  # data first: metadata makes it visible
        self._create(folder, artifact, None)

    def create_dataframe(self, where: Where, dataframe: Dataframe, parquet: bytes) -> None:
        folder = self.entity_dir(where, Dataframe, dataframe.id)
        self.store.put(f"{folder}/data/data.parquet", parquet)
        self._create(folder, dataframe, None)

    def get_by_id(self, where: Where, kind: type[E], entity_id: str) -> E:
        label = _BY_ID[kind][:-1]
        return self._read(
            kind,
            self.entity_dir(where, kind, entity_id),
            f"No {label} with id `{entity_id}` found.",
        )

    def get_data(self, where: Where, kind: type, entity_id: str) -> bytes:
        folder = self.entity_dir(where, kind, entity_id)
        key = f"{folder}/data" if kind is Artifact else f"{folder}/data/data.parquet"
        try:
            return self.store.get(key)
        except NotFoundError:
            label = _BY_ID[kind][:-1]
            raise RubiconException(f"No data for {label} with id `{entity_id}` found.") from None

    def delete_by_id(self, where: Where, kind: type, entity_id: str) -> None:
        self._delete_tree(self.entity_dir(where, kind, entity_id))

    def _delete_tree(self, folder: str) -> None:
        keys = [info.key for info in self.store.list(f"{folder}/")]
        if not keys:
            raise RubiconException(f"Nothing to delete at {self.store.url}/{folder}.")
        self.store.delete(keys)

    # -- tags and comments ---------------------------------------------------------------

    def annotate(self, folder: str, field: str, values: list[str], made: str | None = None) -> None:
        """Record added/removed tags or comments as a new file (existing ones never change),
        named by ``made`` (a time-ordered UUID, :func:`ordered_uuid`) when given."""
        prefix = "tags" if field.endswith("tags") else "comments"
        name = f"{folder}/{prefix}_{made or ordered_uuid()}.json"
        self.store.put(name, dumps({field: values}).encode())

    def annotations(self, folder: str) -> Annotations:
        files = [o for o in self.store.ls(f"{folder}/").objects if _is_annotation(o.key)]
        return self.annotations_from(files, self.fetch([o.key for o in files]))

    @staticmethod
    def annotations_from(files: list[ObjectInfo], data: dict[str, bytes]) -> Annotations:
        # S3 keeps modification times to the second: within one second, the names (time-
        # ordered UUIDs when ferry wrote them) give the order the records were made in.
        ordered = sorted(files, key=lambda o: (o.mtime.replace(microsecond=0), o.key))
        return Annotations([loads(data[o.key]) for o in ordered if o.key in data])


def ordered_uuid() -> str:
    """A UUID whose text sorts by creation time (the UUIDv7 layout: milliseconds, then
    sub-millisecond time, then random bits), still matching rubicon-ml's ``tags_*.json``."""
    ns = time.time_ns()
    millis, rest = divmod(ns, 1_000_000)
    value = (millis << 80) | (0x7 << 76) | ((rest >> 8) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | secrets.randbits(62)))


def _is_annotation(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return name.endswith(".json") and name.startswith(("tags_", "comments_"))
