"""Running the dashboard: open the roots, bind the port, serve with uvicorn until Ctrl-C."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from ferry.config import load_settings
from ferry.errors import ConfigError, FerryError, NotFoundError
from ferry.ui.app import LOOPBACK_NAMES, create_app
from ferry.ui.model_source import ModelSource
from ferry.ui.runs_source import RunsSource
from ferry.ui.tracking_source import TrackingSource

__all__ = ["bind", "build_app", "is_loopback", "run"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(
    roots: Sequence[str], model_roots: Sequence[str], host: str, options: dict[str, Any]
) -> Starlette:
    """The dashboard over tracking ``roots``, model stores ``model_roots`` and the runs of
    the run ledger (the user state folder's, as ``ferry runs ls``), checked now (a missing
    folder or bucket, or bad credentials, fail here with a clear message)."""
    settings = load_settings(options)
    runs = RunsSource.open(settings)
    if not roots and not model_roots and not runs.any():
        raise ConfigError(
            "ferry ui needs something to show.",
            "Give a tracking root (ferry ui ./rubicon-root or s3://bucket/prefix) "
            "and/or a model store (--models s3://bucket/models); runs show once "
            f"'ferry run' has started one (the run ledger is {runs.folder}).",
        )
    for url in (*roots, *model_roots):
        _check_local(url)
    tracking = TrackingSource.open(roots, **options)
    tracking.check()
    tracking.prefetch()
    models = ModelSource.open(model_roots, settings=settings)
    models.check()
    hosts = ["*"] if host in ("0.0.0.0", "::") else [*LOOPBACK_NAMES, host]
    return create_app(tracking, models, runs=runs, allowed_hosts=hosts)


def _check_local(url: str) -> None:
    if "://" in url and not url.startswith("file://"):
        return
    folder = Path(url.removeprefix("file://")).expanduser()
    if not folder.is_dir():
        raise NotFoundError(f"No folder at {folder}.", "Check the path (ferry ui reads roots).")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"Cannot listen on host {host!r}: {exc}.", "Use 127.0.0.1.") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise FerryError(
            f"Cannot listen on {host}:{port}: {exc.strerror}.",
            "Is another ferry ui running? Pass --port with another number, or --port 0.",
        ) from None
    sock.listen(128)
    return sock


def run(app: Starlette, sock: socket.socket, on_started: Callable[[], None]) -> None:
    """Serve ``app`` on ``sock`` until interrupted; ``on_started`` runs once it answers."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    def announce() -> None:
        deadline = time.monotonic() + 30
        while not server.started and not server.should_exit and time.monotonic() < deadline:
            time.sleep(0.05)
        if server.started:
            on_started()

    threading.Thread(target=announce, daemon=True, name="ferry-ui-ready").start()
    # uvicorn shuts down cleanly on Ctrl-C, then raises the signal again for the caller.
    with contextlib.closing(sock), contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
