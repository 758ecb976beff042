"""``RubiconJSON``: clients, projects and experiments as one JSON-like dict, queried with
JSONPath (rubicon-ml's query interface, through ``jsonpath-ng``)::

    from ferry.tracking import RubiconJSON
    found = RubiconJSON(rubicon_objects=rubicon).search("$..experiment[?(@.name == 'run')]")
    [match.value["id"] for match in found]

The dict is ``{"project": [...], "experiment": [...]}``: each project's fields with its
``artifact``, ``dataframe`` and ``experiment`` lists; each experiment's fields with its
``feature``, ``parameter``, ``metric``, ``artifact`` and ``dataframe`` lists. A query
comparing with ``<`` or ``>`` runs on a copy holding only numeric parameter and metric
values, as in rubicon-ml (non-numbers break those comparisons).
"""

from __future__ import annotations

import numbers
from typing import Any

from ferry.errors import RubiconException
from ferry.tracking.client import Project, Rubicon
from ferry.tracking.domain import to_record
from ferry.tracking.entities import Experiment

__all__ = ["RubiconJSON"]


class RubiconJSON:
    """Clients, projects and experiments as one dict, for JSONPath queries.

    Args:
        rubicon_objects: clients (or one) whose projects to include.
        projects: projects (or one) to include.
        experiments: experiments (or one) to include, under the ``experiment`` key.
    """

    def __init__(
        self,
        rubicon_objects: Rubicon | list[Rubicon] | None = None,
        projects: Project | list[Project] | None = None,
        experiments: Experiment | list[Experiment] | None = None,
    ) -> None:
        clients = _checked(rubicon_objects, Rubicon, "rubicon_objects")
        chosen = _checked(projects, Project, "projects")
        runs = _checked(experiments, Experiment, "experiments")
        self._json = _convert(clients, chosen, runs, numeric=False)
        self._json_numeric = _convert(clients, chosen, runs, numeric=True)

    @property
    def json(self) -> dict[str, Any]:
        """Every field of every object."""
        return self._json

    @property
    def json_numeric(self) -> dict[str, Any]:
        """The same, keeping only numeric parameter and metric values."""
        return self._json_numeric

    def search(self, query: str) -> list[Any]:
        """The matches of a JSONPath ``query`` (``jsonpath_ng.ext`` syntax, filters
        included): each match's ``.value`` is the matched dict or value."""
        try:
            from jsonpath_ng.ext.parser import parse
        except ImportError:
            raise RubiconException(
                "RubiconJSON.search needs jsonpath-ng, which is not installed.",
                "pip install 'ferry[jsonpath]' (or pip install jsonpath-ng)",
            ) from None
        document = self._json_numeric if ">" in query or "<" in query else self._json
        return list(parse(query).find(document))


def _checked(value: Any, kind: type, name: str) -> list[Any] | None:
    if not value:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, kind) for item in items):
        raise ValueError(f"`{name}` must be `list` of type `{kind}`.")
    return items


def _convert(
    clients: list[Rubicon] | None,
    projects: list[Project] | None,
    experiments: list[Experiment] | None,
    *,
    numeric: bool,
) -> dict[str, Any]:
    document: dict[str, Any] = {}
    chosen = [p for client in clients or [] for p in client.projects()] + (projects or [])
    if clients is not None or projects is not None:
        document["project"] = [_project(p, numeric) for p in chosen]
    if experiments is not None:
        document["experiment"] = [_experiment(e, numeric) for e in experiments]
    return document


def _fields(entity: Any) -> dict[str, Any]:
    record = to_record(entity._record)
    if "tags" in record:
        record["tags"], record["comments"] = list(entity.tags), list(entity.comments)
    return record


def _project(project: Project, numeric: bool) -> dict[str, Any]:
    document = to_record(project._record)
    document["artifact"] = [_fields(a) for a in project.artifacts()]
    document["dataframe"] = [_fields(d) for d in project.dataframes()]
    document["experiment"] = [_experiment(e, numeric) for e in project.experiments()]
    return document


def _experiment(experiment: Experiment, numeric: bool) -> dict[str, Any]:
    def kept(items: list[Any]) -> list[dict[str, Any]]:
        return [_fields(i) for i in items if not numeric or isinstance(i.value, numbers.Number)]

    document = _fields(experiment)
    document["feature"] = [_fields(f) for f in experiment.features()]
    document["parameter"] = kept(experiment.parameters())
    document["metric"] = kept(experiment.metrics())
    document["artifact"] = [_fields(a) for a in experiment.artifacts()]
    document["dataframe"] = [_fields(d) for d in experiment.dataframes()]
    return document
