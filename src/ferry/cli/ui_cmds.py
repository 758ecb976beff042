"""``ferry ui [ROOT ...]``: the local dashboard (needs the ``ui`` extra, imported only here).

Its Runs page lists the runs of the run ledger that ``ferry runs ls`` reads (in the user
state folder, ``$XDG_STATE_HOME/ferry/runs``), read from S3 with the same settings."""

from __future__ import annotations

from typing import Any

import click

from ferry.errors import FerryError

__all__ = ["ui"]


@click.command()
@click.argument("roots", nargs=-1)
@click.option(
    "--models", "model_roots", multiple=True, help="A model store to show too (repeatable)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@click.pass_obj
def ui(
    obj: dict[str, Any],
    roots: tuple[str, ...],
    model_roots: tuple[str, ...],
    host: str,
    port: int,
    no_browser: bool,
) -> None:
    """A read-only dashboard of the experiments in ROOT(s) (local folders or
    s3://bucket/prefix), of model stores (--models) and of this machine's training runs
    (those 'ferry runs ls' lists), on http://127.0.0.1:8765."""
    server = _server_module()
    if not server.is_loopback(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach this address can read your "
            "experiments and download their artifacts (the dashboard has no login).",
            err=True,
        )
    options = {k: v for k, v in obj.items() if v is not None}
    # The port first: one in use is said at once, before the roots are read (a bucket's
    # listing, begun in the background, would otherwise hold the process until it ends).
    sock = server.bind(host, port)
    try:
        app = server.build_app(list(roots), list(model_roots), host, options)
    except BaseException:
        sock.close()
        raise
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{sock.getsockname()[1]}/"
    first_page = "" if roots or model_roots else "runs"  # only runs to show

    def started() -> None:
        click.echo(f"ferry ui: serving on {url}  (Ctrl-C to stop)", err=True)
        if not no_browser:
            import webbrowser

            webbrowser.open(url + first_page)

    server.run(app, sock, started)


def _server_module() -> Any:
    """ferry.ui.server, or a clear error when the ``ui`` extra is not installed."""
    try:
        from ferry.ui import server
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in {"starlette", "uvicorn"}:
            raise
        raise FerryError(
            f"ferry ui needs {missing}, which is not installed.",
            "Install the dashboard's extra: pip install 'ferry[ui]'.",
        ) from None
    return server
