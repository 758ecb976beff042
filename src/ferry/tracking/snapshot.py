"""One listing of a project's experiments, shared by the experiments it returned: the
concurrent, cached reader behind ``project.experiments()``, ``to_df()`` and ``ferry ui``.

``project.experiments()`` lists everything below ``experiments/`` once. When one of those
experiments is then asked for its metrics (or parameters, features, ...), the snapshot
reads that kind for *every* experiment of the listing in one concurrent batch, so reading
back 200 experiments costs a few listing pages and a few batches of GETs instead of a LIST
and a GET per entity. Records whose listed ETag is already in the record cache are not
fetched at all: reading an unchanged project costs its listing. What a snapshot shows is
the project as it was listed; entities this client logs afterwards are added to it.
A snapshot may be read from several threads at once.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from ferry.storage.base import ObjectInfo
from ferry.tracking.codec import loads
from ferry.tracking.domain import E, Experiment, from_record
from ferry.tracking.repository import METADATA, Annotations, Repository, warn_missing

__all__ = ["Snapshot"]


class Snapshot:
    """The objects below one project's ``experiments/`` folder, as listed once."""

    def __init__(self, repository: Repository, project: str) -> None:
        self.repository = repository
        self.root = repository.experiments_dir(project) + "/"
        self.objects = {o.key: o for o in repository.walk(repository.experiments_dir(project))}
        # Each key as its parts below experiments/: [experiment id, ...].
        self._parts = {key: key[len(self.root) :].split("/") for key in self.objects}
        self._loaded: dict[str, dict[str, list[Any]]] = {}
        self._lock = threading.Lock()

    def experiments(self) -> tuple[list[Experiment], dict[str, Annotations]]:
        """Every experiment with its tag/comment records, read in one batch."""
        wanted = [o for k, o in self.objects.items() if _is_experiment_file(self._parts[k])]
        data = self.repository.fetch_listed(wanted)
        files: dict[str, list[ObjectInfo]] = defaultdict(list)
        experiments = []
        for info in wanted:
            parts = self._parts[info.key]
            if parts[1] != METADATA:
                files[parts[0]].append(info)
            elif info.key in data:
                experiments.append(from_record(Experiment, loads(data[info.key])))
        self._warn_stray(
            {p[0] for p in self._parts.values() if len(p) > 1}, {e.id for e in experiments}
        )
        annotations = {
            e.id: Repository.annotations_from(files.get(e.id, []), data) for e in experiments
        }
        return sorted(experiments, key=lambda e: e.created_at), annotations

    def _warn_stray(self, folders: set[str], found: set[str]) -> None:
        for folder in sorted(folders - found):
            if not any(p[0] == folder and p[1:] == [METADATA] for p in self._parts.values()):
                warn_missing(self.repository.store.url, f"{self.root}{folder}/{METADATA}")

    def children(self, kind: type[E], folder: str, experiment_id: str) -> list[E]:
        """The ``folder`` entities (e.g. "metrics") of one experiment, loading the kind for
        all experiments of the snapshot on first use."""
        with self._lock:
            if folder not in self._loaded:
                self._loaded[folder] = self._load(kind, folder)
            return list(self._loaded[folder].get(experiment_id, []))

    def _load(self, kind: type[E], folder: str) -> dict[str, list[E]]:
        entities: dict[tuple[str, str], ObjectInfo | None] = {}
        for key, parts in self._parts.items():
            if len(parts) >= 4 and parts[1] == folder:
                found = parts[3] == METADATA and len(parts) == 4
                entity = (parts[0], parts[2])
                if found or entity not in entities:
                    entities[entity] = self.objects[key] if found else None
        listed = [info for info in entities.values() if info is not None]
        data = self.repository.fetch_listed(listed)
        for (experiment, name), info in sorted(entities.items()):
            if info is None or info.key not in data:
                warn_missing(
                    self.repository.store.url, f"{self.root}{experiment}/{folder}/{name}/{METADATA}"
                )
        grouped: dict[str, list[E]] = defaultdict(list)
        for info in listed:
            if info.key in data:
                grouped[self._parts[info.key][0]].append(from_record(kind, loads(data[info.key])))
        return {exp: sorted(items, key=lambda e: e.created_at) for exp, items in grouped.items()}

    def annotations(self, folder: str) -> Annotations:
        """Tag/comment records of an entity folder, found in the listing (no extra LIST)."""
        prefix = folder + "/"
        files = [
            o
            for k, o in self.objects.items()
            if k.startswith(prefix)
            and "/" not in k[len(prefix) :]
            and k.rsplit("/", 1)[-1].startswith(("tags_", "comments_"))
        ]
        return Repository.annotations_from(files, self.repository.fetch_listed(files))


def _is_experiment_file(parts: list[str]) -> bool:
    """``<id>/metadata.json`` or ``<id>/tags_*.json`` / ``<id>/comments_*.json``."""
    return len(parts) == 2 and (parts[1] == METADATA or parts[1].startswith(("tags_", "comments_")))
