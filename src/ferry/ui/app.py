"""The dashboard as an ASGI app: pages, the JSON API, static files, and the guards around
them (loopback host names only, a content security policy that allows no other origin).

Pages are one HTML shell each, filled by a small script (``static/<page>.js``) that reads
the JSON API; chart libraries are vendored in ``static/vendor`` (see its VENDORED.json).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.errors import ConfigError, FerryError, NotFoundError
from ferry.ui.api import Api, JSONResponse
from ferry.ui.model_source import ModelSource
from ferry.ui.runs_source import RunsSource
from ferry.ui.tracking_source import TrackingSource

__all__ = ["LOOPBACK_NAMES", "PAGES", "create_app"]

STATIC = Path(__file__).parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
# Nothing but this origin: no CDN, no font or analytics host, no form posted elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CHARTS = (
    '<link rel="stylesheet" href="/static/vendor/uPlot.min.css">'
    '<script src="/static/vendor/uPlot.iife.min.js"></script>'
    '<link rel="modulepreload" href="/static/charts.js">'
)
# path -> (title, script, extra head)
PAGES = {
    "/": ("Projects", "projects", ""),
    "/experiments": ("Experiments", "experiments", ""),
    "/compare": ("Compare", "compare", CHARTS),
    "/experiment": ("Experiment", "experiment", CHARTS),
    "/models": ("Models", "models", ""),
    "/runs": ("Runs", "runs", ""),
    "/run": ("Run", "run", CHARTS),
}
SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ferry</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/ferry.css">
<link rel="modulepreload" href="/static/ferry.js">{head}
</head><body>
<header><a class="brand" href="/">ferry</a>
<nav><a href="/">Projects</a><a href="/models">Models</a><a href="/runs">Runs</a></nav>
<span id="crumbs"></span></header>
<main id="main"><p class="muted">Loading…</p></main>
<script type="module" src="/static/{script}.js"></script>
</body></html>
"""


def create_app(
    tracking: TrackingSource,
    models: ModelSource,
    *,
    runs: RunsSource | None = None,
    allowed_hosts: Sequence[str] = LOOPBACK_NAMES,
) -> Starlette:
    """The dashboard over ``tracking`` and ``models``.

    Args:
        tracking: the experiment roots' reader.
        models: the model stores' reader.
        runs: the runs ledger's reader (None: the Runs page says none was given).
        allowed_hosts: the Host header values served (others get 400, which keeps web
            pages from reaching the dashboard through DNS rebinding); ``"*"`` for any.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        tracking.close()

    api = Api(tracking, models, runs)
    routes = [
        *(Route(path, _page(*spec)) for path, spec in PAGES.items()),
        *api.routes(),
        Mount("/static", Revalidated(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
            Middleware(SecurityHeaders),
        ],
        exception_handlers={FerryError: _error},
        lifespan=lifespan,
    )


def _page(title: str, script: str, head: str) -> Callable[[Request], Awaitable[Response]]:
    html = SHELL.format(title=escape(title), script=script, head=head)

    async def page(request: Request) -> Response:
        return HTMLResponse(html)

    return page


async def _error(request: Request, exc: Exception) -> Response:
    """A ferry error as JSON with a status that says whose fault it was."""
    status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, ConfigError) else 502
    return JSONResponse({"error": str(exc)}, status)


class Revalidated(StaticFiles):
    """Static files the browser revalidates on every use (a cheap 304 on loopback), so a
    new ferry's scripts are never mixed with an old cached one."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


class SecurityHeaders:
    """Adds the content security policy and its companions to every response."""

    HEADERS = (
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
