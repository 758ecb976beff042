"""The dashboard's JSON API: thin handlers that parse a query string, ask a source, answer.

Every endpoint is a GET and reads only; the data work is in the sources
(:mod:`ferry.ui.tracking_source`, :mod:`ferry.ui.model_source`,
:mod:`ferry.ui.runs_source`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferry.errors import ConfigError, FerryError, NotFoundError
from ferry.ui.model_source import ModelSource
from ferry.ui.runs_source import RunsSource
from ferry.ui.table import TableQuery
from ferry.ui.tracking_source import ProjectRef, TrackingSource

__all__ = ["Api", "JSONResponse"]

Handler = Callable[[Request], Response]
_log = logging.getLogger("ferry.ui")


def _guarded(handler: Handler) -> Handler:
    """An error ferry did not foresee (a damaged file in a root, ...) answers a 500 whose
    message the page shows, and one line in the terminal: never a traceback. Ferry's own
    errors go on to the app's handler, which knows their status."""

    @functools.wraps(handler)
    def guarded(request: Request) -> Response:
        try:
            return handler(request)
        except FerryError:
            raise
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            _log.warning("%s: %s", request.url.path, problem)
            return JSONResponse({"error": f"Could not read it: {problem}"}, 500)

    return guarded


class JSONResponse(Response):
    """JSON for the browser: dates as ISO text, numpy values as numbers, NaN as null."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, default=_plain, allow_nan=False)
        except ValueError:  # a NaN or an infinity somewhere: JSON has none
            text = json.dumps(_finite(content), default=_plain, allow_nan=False)
        return text.encode()


class Api:
    """The endpoints under ``/api``, over the dashboard's sources."""

    def __init__(
        self, tracking: TrackingSource, models: ModelSource, runs: RunsSource | None
    ) -> None:
        self.tracking = tracking
        self.models = models
        self.runs = runs

    def routes(self) -> list[Route]:
        endpoints: dict[str, Handler] = {
            "projects": self.projects,
            "columns": self.columns,
            "experiments": self.experiments,
            "experiment": self.experiment,
            "artifact": self.artifact,
            "dataframe": self.dataframe,
            "compare": self.compare,
            "series": self.series,
            "models": self.model_domains,
            "models/versions": self.model_versions,
            "models/version": self.model_version,
            "runs": self.run_list,
            "run": self.run,
            "run/resources": self.run_resources,
            "run/log": self.run_log,
        }
        return [Route(f"/api/{path}", _guarded(handler)) for path, handler in endpoints.items()]

    # -- tracking ------------------------------------------------------------------------

    def projects(self, request: Request) -> Response:
        return JSONResponse({"roots": self.tracking.urls, "projects": self.tracking.projects()})

    def columns(self, request: Request) -> Response:
        ref = _ref(request)
        if request.query_params.get("refresh"):
            self.tracking.refresh(ref)
        return JSONResponse(self.tracking.columns(ref))

    def experiments(self, request: Request) -> Response:
        q = request.query_params
        ref = _ref(request)
        if q.get("refresh"):
            self.tracking.refresh(ref)
        query = TableQuery(
            name=q.get("name", ""),
            tags=_list(q.get("tags", "")),
            qtype=q.get("qtype", "or"),
            where=q.get("where", ""),
            sort=q.get("sort", "created_at"),
            descending=q.get("desc", "1") not in ("0", "false"),
            offset=_int(request, "offset", 0),
            limit=_int(request, "limit", 50),
            columns=_list(q.get("columns", "")),
            default_metrics=min(_int(request, "default_metrics", 0), 20),
        )
        return JSONResponse(self.tracking.table(ref, query))

    def experiment(self, request: Request) -> Response:
        return JSONResponse(self.tracking.experiment(_ref(request), _need(request, "id")))

    def artifact(self, request: Request) -> Response:
        name, data = self.tracking.artifact(
            _ref(request), _need(request, "id"), _need(request, "artifact")
        )
        disposition = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": disposition},
        )

    def dataframe(self, request: Request) -> Response:
        rows = min(_int(request, "rows", 20), 1000)
        return JSONResponse(
            self.tracking.dataframe(
                _ref(request), _need(request, "id"), _need(request, "dataframe"), rows
            )
        )

    def compare(self, request: Request) -> Response:
        return JSONResponse(self.tracking.compare(_ref(request), _list(_need(request, "ids"))))

    def series(self, request: Request) -> Response:
        return JSONResponse(
            self.tracking.series(
                _ref(request),
                _list(_need(request, "ids")),
                _need(request, "metric"),
                x=request.query_params.get("x", "step"),
                width=_int(request, "width", 800),
            )
        )

    # -- models and runs -----------------------------------------------------------------

    def model_domains(self, request: Request) -> Response:
        return JSONResponse({"roots": self.models.urls, "domains": self.models.domains()})

    def model_versions(self, request: Request) -> Response:
        root = _int(request, "root", 0)
        return JSONResponse(self.models.versions(root, _need(request, "domain")))

    def model_version(self, request: Request) -> Response:
        root = _int(request, "root", 0)
        return JSONResponse(
            self.models.version(root, _need(request, "domain"), _need(request, "model_id"))
        )

    def run_list(self, request: Request) -> Response:
        if self.runs is None:
            return JSONResponse({"ledger": None, "runs": []})
        return JSONResponse(self.runs.runs())

    def run(self, request: Request) -> Response:
        return JSONResponse(self._runs().run(_need(request, "id")))

    def run_resources(self, request: Request) -> Response:
        width = min(max(_int(request, "width", 800), 16), 4000)
        return JSONResponse(self._runs().resources(_need(request, "id"), width))

    def run_log(self, request: Request) -> Response:
        chars = min(max(_int(request, "chars", 64 * 1024), 1), 1024 * 1024)
        return JSONResponse(self._runs().log(_need(request, "id"), chars))

    def _runs(self) -> RunsSource:
        if self.runs is None:
            raise NotFoundError("This dashboard reads no runs ledger.", "Start it with ferry ui.")
        return self.runs


def _ref(request: Request) -> ProjectRef:
    return ProjectRef(_int(request, "root", 0), _need(request, "project"))


def _need(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")
    if not value:
        raise ConfigError(f"The request lacks '{name}'.", "Open the page from the dashboard.")
    return value


def _int(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"'{name}' must be a whole number, not {text!r}.", "") from None


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return repr(value) if not isinstance(value, bytes) else f"<{len(value)} bytes>"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    return value
