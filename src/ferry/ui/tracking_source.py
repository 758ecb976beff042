"""Everything the dashboard reads from experiment tracking, in this one module.

Reads go through :mod:`ferry.tracking`'s public API only (``Rubicon``, ``Project``,
``Experiment``, ``filter_by``), so when tracking gains a cached concurrent reader this is
the one module to switch over. What it keeps in memory, per project: the experiments of
one listing, with their parameters and metrics loaded the first time a column or a filter
needs them (listed again in the background once older than ``max_age`` seconds); and the
metric series read lately (within a point budget), read again when they grew.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ferry.errors import ConfigError, FerryError, NotFoundError, RubiconException
from ferry.tracking import Experiment, Project, Rubicon
from ferry.tracking.entities import filter_by
from ferry.ui.series import Points, SeriesCache, number, seconds, series_entry
from ferry.ui.table import FIELDS, Columns, TableQuery, page_of

__all__ = ["X_AXES", "ProjectRef", "TrackingSource"]

X_AXES = ("step", "time", "relative")
Row = dict[str, Any]


@dataclass(frozen=True)
class ProjectRef:
    """A project of one of the dashboard's roots (by the root's position)."""

    root: int
    name: str


class _Listing:
    """One project's experiments as listed at ``loaded_at``; parameters and metrics are
    loaded for all of them at once, the first time they are needed."""

    def __init__(self, experiments: list[Experiment], loaded_at: float) -> None:
        self.experiments = experiments
        self.by_id = {e.id: e for e in experiments}
        self.loaded_at = loaded_at
        self.base = [_base_row(e) for e in experiments]
        self.values: dict[str, dict[str, dict[str, Any]]] = {}  # kind -> id -> name -> value
        self.names: dict[str, list[str]] = {}  # kind -> names in first-seen order
        self.directions: dict[str, str] = {}
        self.own: dict[str, dict[str, dict[str, Any]]] = {}  # id -> kind -> name -> value
        self.lock = threading.Lock()

    def load(self, kind: str) -> None:
        with self.lock:
            if kind in self.values:
                return
            values: dict[str, dict[str, Any]] = {}
            names: dict[str, None] = {}
            for experiment in self.experiments:
                if kind == "param":
                    values[experiment.id] = {p.name: p.value for p in experiment.parameters()}
                else:
                    metrics = experiment.metrics()
                    values[experiment.id] = {m.name: m.value for m in metrics}
                    for metric in metrics:
                        self.directions.setdefault(metric.name, metric.directionality)
                names.update(dict.fromkeys(values[experiment.id]))
            self.values[kind], self.names[kind] = values, list(names)

    def columns(self) -> Columns:
        return Columns(params=self.names.get("param", []), metrics=self.names.get("metric", []))

    def values_of(self, experiment_id: str, kind: str) -> dict[str, Any]:
        """One experiment's values of ``kind``: from the project-wide load, else from its
        own read (see ``TrackingSource._read_own``)."""
        if kind in self.values:
            return self.values[kind][experiment_id]
        return self.own[experiment_id][kind]

    def rows(self, kinds: set[str]) -> list[Row]:
        for kind in sorted(kinds):
            self.load(kind)
        rows = []
        for base in self.base:
            row = dict(base)
            for kind in kinds:
                for name, value in self.values[kind][base["id"]].items():
                    row[f"{kind}:{name}"] = value
            rows.append(row)
        return rows


class TrackingSource:
    """The dashboard's reader of one or more tracking roots.

    Args:
        roots: each root's URL and the ``Rubicon`` that reads it.
        max_age: seconds after which a project listing is made again (in the background).
        clock: the time source (monotonic seconds), for tests.
        workers: how many metric series are read at once.
        series_points: how many series points are kept in memory, at most.
        refresher: runs the listings' background refreshes (one thread by default).
    """

    def __init__(
        self,
        roots: Sequence[tuple[str, Rubicon]],
        *,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        workers: int = 8,
        series_points: int = 5_000_000,
        refresher: Executor | None = None,
    ) -> None:
        self.urls = [url for url, _ in roots]
        self._rubicons = [rubicon for _, rubicon in roots]
        self.max_age = max_age
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ferry-ui")
        self._lock = threading.Lock()
        self._projects: dict[int, tuple[float, dict[str, Project]]] = {}
        self._listings: dict[ProjectRef, _Listing] = {}
        self._loading: dict[ProjectRef, threading.Lock] = {}
        self._refreshing: set[ProjectRef] = set()
        self._refresher = refresher or ThreadPoolExecutor(1, thread_name_prefix="ferry-ui-list")
        self._series = SeriesCache(series_points)

    @classmethod
    def open(cls, urls: Sequence[str], **storage_options: Any) -> TrackingSource:
        """A reader of the roots at ``urls`` (local folders or ``s3://bucket/prefix``)."""
        return cls([(url, Rubicon(root_dir=url, **storage_options)) for url in urls])

    def check(self) -> None:
        """List each root's projects now, so a missing bucket or bad credentials fail at
        start-up rather than in the browser."""
        for root in range(len(self.urls)):
            self._root_projects(root)

    def prefetch(self) -> None:
        """List every project in the background now, so that the first page a user opens
        finds its listing made (or on its way) rather than starting it."""

        def list_all() -> None:
            with contextlib.suppress(FerryError):  # a page asking later will say what failed
                self.projects()

        self._refresher.submit(list_all)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._refresher.shutdown(wait=False, cancel_futures=True)

    # -- projects ------------------------------------------------------------------------

    def projects(self) -> list[dict[str, Any]]:
        """Every project of every root, with its experiment count and last activity."""
        refs = [
            ProjectRef(root, name) for root in range(len(self.urls)) for name in self._names(root)
        ]
        listings = list(self._pool.map(self._listing, refs))
        return [self._summary(ref, listing) for ref, listing in zip(refs, listings, strict=True)]

    def _summary(self, ref: ProjectRef, listing: _Listing) -> dict[str, Any]:
        project = self._project(ref)
        created = [e.created_at for e in listing.experiments]
        return {
            "root": ref.root,
            "root_url": self.urls[ref.root],
            "name": project.name,
            "id": project.id,
            "description": project.description,
            "created_at": project.created_at,
            "experiments": len(listing.experiments),
            "last_activity": max(created, default=project.created_at),
        }

    def _names(self, root: int) -> list[str]:
        return list(self._root_projects(root))

    def _root_projects(self, root: int) -> dict[str, Project]:
        if not 0 <= root < len(self.urls):
            raise NotFoundError(f"No root number {root}.", f"Roots: 0 to {len(self.urls) - 1}.")
        with self._lock:
            cached = self._projects.get(root)
        if cached is None or self._clock() - cached[0] > self.max_age:
            projects = {p.name: p for p in self._rubicons[root].projects()}
            cached = (self._clock(), projects)
            with self._lock:
                self._projects[root] = cached
        return cached[1]

    def _project(self, ref: ProjectRef) -> Project:
        project = self._root_projects(ref.root).get(ref.name)
        if project is None:
            raise NotFoundError(
                f"No project named {ref.name!r} in {self.urls[ref.root]}.",
                "Pick one on the projects page.",
            )
        return project

    def _listing(self, ref: ProjectRef, refresh: bool = False) -> _Listing:
        """The project's experiments. The first listing (or an asked-for refresh) is made
        now, one at a time per project; a listing older than ``max_age`` is still served
        while a new one is made in the background, so no page waits for it."""
        listing = self._listings.get(ref)
        if listing is not None and not refresh:
            if self._clock() - listing.loaded_at > self.max_age:
                self._refresh_later(ref, listing)
            return listing
        with self._lock:
            lock = self._loading.setdefault(ref, threading.Lock())
        with lock:
            current = self._listings.get(ref)
            if current is None or (refresh and current is listing):
                current = self._list(ref, kinds=set())
            return current

    def _list(self, ref: ProjectRef, kinds: set[str]) -> _Listing:
        """List the project, load the ``kinds`` the previous listing had, then use it."""
        listing = _Listing(self._project(ref).experiments(), self._clock())
        for kind in sorted(kinds):
            listing.load(kind)
        with self._lock:
            self._listings[ref] = listing
        return listing

    def _refresh_later(self, ref: ProjectRef, stale: _Listing) -> None:
        with self._lock:
            if ref in self._refreshing:
                return
            self._refreshing.add(ref)

        def refresh() -> None:
            try:
                self._list(ref, kinds=set(stale.values))
            except FerryError:
                stale.loaded_at = self._clock()  # keep serving it; try again in max_age
            finally:
                with self._lock:
                    self._refreshing.discard(ref)

        self._refresher.submit(refresh)

    def refresh(self, ref: ProjectRef) -> None:
        """List the project again now (and its root's projects); read series again."""
        with self._lock:
            self._projects.pop(ref.root, None)
        self._series.drop(lambda key: key[0] == ref)
        self._listing(ref, refresh=True)

    # -- the experiments table -----------------------------------------------------------

    def columns(self, ref: ProjectRef) -> dict[str, Any]:
        """The project's parameter and metric names (loads both kinds)."""
        listing = self._listing(ref)
        listing.load("param")
        listing.load("metric")
        return {
            "fields": [f for f in FIELDS if f != "id"],
            "params": listing.names["param"],
            "metrics": listing.names["metric"],
            "directions": listing.directions,
        }

    def table(self, ref: ProjectRef, query: TableQuery) -> dict[str, Any]:
        """One page of the experiments table. Parameters and metrics are read only when a
        column, the sort or the filter needs them; tags filter as ``project.experiments``
        does (``qtype`` "or"/"and", ``*`` wildcards)."""
        listing = self._listing(ref)
        loaded = query.shown_kinds() & set(listing.values)
        rows = listing.rows(query.ordering_kinds() | loaded)
        if query.tags:
            tagged = filter_by(
                listing.experiments, name=None, tags=list(query.tags), qtype=query.qtype
            )
            kept = {e.id for e in tagged}
            rows = [r for r in rows if r["id"] in kept]

        def complete(page: list[Row]) -> list[Row]:
            kinds = query.shown_kinds() - set(listing.values)
            if not kinds:
                return page
            self._read_own(ref, listing, [listing.by_id[row["id"]] for row in page])
            return [_with_values(row, listing, kinds) for row in page]

        page = page_of(rows, query, listing.columns(), complete)
        return {**page, "experiments": len(listing.experiments)}

    # -- one experiment ------------------------------------------------------------------

    def _experiment(self, ref: ProjectRef, experiment_id: str) -> Experiment:
        found = self._listing(ref).by_id.get(experiment_id)
        if found is None:
            found = self._listing(ref, refresh=True).by_id.get(experiment_id)
        if found is None:
            raise NotFoundError(
                f"No experiment {experiment_id!r} in project {ref.name!r}.",
                "It may have been deleted; go back to the experiments page.",
            )
        return found

    def _own(self, ref: ProjectRef, experiment_id: str) -> Experiment:
        """The experiment read on its own, not through the project's listing: asking it for
        its metrics (features, ...) then reads its own, not every experiment's."""
        self._experiment(ref, experiment_id)
        return self._project(ref).experiment(id=experiment_id)

    def experiment(self, ref: ProjectRef, experiment_id: str) -> dict[str, Any]:
        """Everything logged on one experiment (no artifact or dataframe data)."""
        e = self._own(ref, experiment_id)
        return {
            **_base_row(e),
            "comments": e.comments,
            "metrics": [_metric(m) for m in e.metrics()],
            "params": [{"name": p.name, "value": p.value} for p in e.parameters()],
            "features": sorted(
                ({"name": f.name, "importance": f.importance} for f in e.features()),
                key=lambda f: -(f["importance"] if f["importance"] is not None else -math.inf),
            ),
            "artifacts": [_stored(a) for a in e.artifacts()],
            "dataframes": [_stored(d) for d in e.dataframes()],
        }

    def artifact(self, ref: ProjectRef, experiment_id: str, artifact_id: str) -> tuple[str, bytes]:
        """An artifact's name and bytes."""
        found = self._child(self._own(ref, experiment_id).artifacts(), artifact_id)
        return str(found.name), bytes(found.get_data())

    def dataframe(
        self, ref: ProjectRef, experiment_id: str, dataframe_id: str, rows: int = 20
    ) -> dict[str, Any]:
        """A dataframe's shape, schema and first ``rows`` rows."""
        import json

        found = self._child(self._own(ref, experiment_id).dataframes(), dataframe_id)
        frame = found.get_data()
        head = json.loads(
            frame.head(rows).to_json(orient="split", date_format="iso", default_handler=str)
        )
        return {
            "id": found.id,
            "name": found.name,
            "shape": list(frame.shape),
            "schema": [{"name": str(c), "dtype": str(t)} for c, t in frame.dtypes.items()],
            "columns": [str(c) for c in head["columns"]],
            "rows": head["data"],
        }

    @staticmethod
    def _child(items: Sequence[Any], item_id: str) -> Any:
        for item in items:
            if item.id == item_id:
                return item
        raise NotFoundError(f"No artifact or dataframe {item_id!r} here.", "Reload the page.")

    # -- comparing -----------------------------------------------------------------------

    def compare(self, ref: ProjectRef, ids: Sequence[str]) -> dict[str, Any]:
        """The chosen experiments' parameters and metrics side by side: from the listing
        when it has them, else read for these experiments alone."""
        listing = self._listing(ref)
        runs = [self._experiment(ref, i) for i in _unique(ids)]
        if not {"param", "metric"} <= set(listing.values):
            self._read_own(ref, listing, runs)
        params = [listing.values_of(r.id, "param") for r in runs]
        metrics = [listing.values_of(r.id, "metric") for r in runs]
        directions = listing.directions
        return {
            "runs": [_base_row(r) for r in runs],
            "params": _side_by_side(params),
            "metrics": _side_by_side(metrics, directions),
        }

    def _read_own(self, ref: ProjectRef, listing: _Listing, runs: Sequence[Experiment]) -> None:
        """Read the parameters and metrics of a few experiments on their own (those not
        read yet), concurrently: a page of the table, or the runs compared."""

        def read(run: Experiment) -> tuple[str, dict[str, dict[str, Any]], list[Any]]:
            own = self._project(ref).experiment(id=run.id)
            metrics = own.metrics()
            params = {p.name: p.value for p in own.parameters()}
            return run.id, {"param": params, "metric": {m.name: m.value for m in metrics}}, metrics

        missing = [r for r in runs if r.id not in listing.own]
        for run_id, values, metrics in self._pool.map(read, missing):
            with listing.lock:
                listing.own[run_id] = values
                for metric in metrics:
                    listing.directions.setdefault(metric.name, metric.directionality)

    def series(
        self, ref: ProjectRef, ids: Sequence[str], metric: str, x: str = "step", width: int = 800
    ) -> dict[str, Any]:
        """Each run's ``metric`` series, thinned to about two points per pixel of
        ``width``, with min, max and last of all its points."""
        if x not in X_AXES:
            raise ConfigError(f"x must be one of {', '.join(X_AXES)}, not {x!r}.", "")
        if not 16 <= width <= 10_000:
            raise ConfigError("width must be between 16 and 10000 pixels.", "")
        listing = self._listing(ref)
        runs = [self._experiment(ref, i) for i in _unique(ids)]
        histories = self._pool.map(lambda r: self._history(ref, listing, r, metric), runs)
        return {
            "metric": metric,
            "x": x,
            "runs": [
                series_entry(r.id, r.name, p, x, width)
                for r, p in zip(runs, histories, strict=True)
            ],
        }

    def _history(self, ref: ProjectRef, listing: _Listing, run: Experiment, metric: str) -> Points:
        """A run's series, from memory while the listing's value of the metric (the latest
        point, when the listing has metrics loaded) still matches its last point."""
        key = (ref, run.id, metric)
        cached = self._series.get(key)
        if cached is not None and _still_latest(listing, run, metric, cached):
            return cached
        try:
            points = run.metric_history(metric)
        except RubiconException:  # no such metric on this run
            points = []
        if not points:
            value = _value_of(listing, run, metric)
            result: Points = ([], [], [value] if value is not None else [])
        else:
            result = (
                [float(p["step"]) for p in points],
                [seconds(p.get("timestamp")) for p in points],
                [number(p.get("value")) for p in points],
            )
        self._series.put(key, result)
        return result


def _still_latest(listing: _Listing, run: Experiment, metric: str, points: Points) -> bool:
    if "metric" not in listing.values or not points[2]:
        return True  # nothing newer is known: steps once logged never change
    return number(listing.values["metric"][run.id].get(metric)) == points[2][-1]


def _value_of(listing: _Listing, run: Experiment, metric: str) -> float | None:
    """A metric's value: from the listing if loaded, else read alone (one request)."""
    if "metric" in listing.values:
        return number(listing.values["metric"][run.id].get(metric))
    try:
        return number(run.metric(name=metric).value)
    except RubiconException:
        return None


def _with_values(row: Row, listing: _Listing, kinds: set[str]) -> Row:
    merged = dict(row)
    for kind in kinds:
        for name, value in listing.values_of(row["id"], kind).items():
            merged[f"{kind}:{name}"] = value
    return merged


def _side_by_side(
    columns: list[dict[str, Any]], directions: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One entry per name (first seen first): each run's value, and whether they differ."""
    table = []
    for name in dict.fromkeys(n for values in columns for n in values):
        values = [column.get(name) for column in columns]
        entry = {"name": name, "values": values, "differs": _differ(values)}
        if directions is not None:
            entry["directionality"] = directions.get(name, "score")
        table.append(entry)
    return table


def _fields(item: Any, names: Sequence[str]) -> dict[str, Any]:
    """The named attributes of an entity (tags as a plain list)."""
    found = {name: getattr(item, name) for name in names}
    if "tags" in found:
        found["tags"] = list(found["tags"])
    return found


def _base_row(e: Experiment) -> Row:
    return _fields(e, FIELDS)


def _metric(m: Any) -> dict[str, Any]:
    return _fields(m, ("name", "value", "directionality", "description"))


def _stored(item: Any) -> dict[str, Any]:
    return _fields(item, ("id", "name", "description", "created_at", "tags"))


def _differ(values: list[Any]) -> bool:
    return len({repr(v) for v in values}) > 1


def _unique(ids: Sequence[str]) -> list[str]:
    if not ids:
        raise ConfigError("No experiments chosen.", "Select experiments on the experiments page.")
    return list(dict.fromkeys(ids))
