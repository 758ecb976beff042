"""One listing of a project's experiments, shared by the experiments it returned.

``project.experiments()`` lists everything below ``experiments/`` once. When one of those
experiments is then asked for its metrics (or parameters, features, ...), the snapshot
fetches that kind for *every* experiment of the listing in one concurrent batch, so
reading back 200 experiments costs a few listing pages and a few batches of GETs instead
of a LIST and a GET per entity. What a snapshot shows is the project as it was listed;
entities this client logs afterwards are added to it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from ferry.storage.base import ObjectInfo
from ferry.tracking.codec import loads
from ferry.tracking.domain import E, Experiment, from_record
from ferry.tracking.repository import METADATA, Annotations, Repository

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
        """Every experiment with its tag/comment records, fetched in one batch."""
        wanted = [k for k in self.objects if _is_experiment_file(self._parts[k])]
        data = self.repository.fetch(wanted)
        files: dict[str, list[ObjectInfo]] = defaultdict(list)
        experiments = []
        for key in wanted:
            parts = self._parts[key]
            if parts[1] == METADATA:
                experiments.append(from_record(Experiment, loads(data[key])))
            else:
                files[parts[0]].append(self.objects[key])
        annotations = {
            e.id: Repository.annotations_from(files.get(e.id, []), data) for e in experiments
        }
        return sorted(experiments, key=lambda e: e.created_at), annotations

    def children(self, kind: type[E], folder: str, experiment_id: str) -> list[E]:
        """The ``folder`` entities (e.g. "metrics") of one experiment, loading the kind for
        all experiments of the snapshot on first use."""
        with self._lock:
            if folder not in self._loaded:
                self._loaded[folder] = self._load(kind, folder)
            return list(self._loaded[folder].get(experiment_id, []))

    def _load(self, kind: type[E], folder: str) -> dict[str, list[E]]:
        keys = [
            k
            for k in self.objects
            if len(parts := self._parts[k]) == 4 and parts[1] == folder and parts[3] == METADATA
        ]
        data = self.repository.fetch(keys, missing_ok=True)
        grouped: dict[str, list[E]] = defaultdict(list)
        for key in keys:
            if key in data:
                grouped[self._parts[key][0]].append(from_record(kind, loads(data[key])))
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
        return Repository.annotations_from(files, self.repository.fetch([o.key for o in files]))


def _is_experiment_file(parts: list[str]) -> bool:
    """``<id>/metadata.json`` or ``<id>/tags_*.json`` / ``<id>/comments_*.json``."""
    return len(parts) == 2 and (parts[1] == METADATA or parts[1].startswith(("tags_", "comments_")))
