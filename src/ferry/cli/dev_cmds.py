"""``ferry dev s3``: a local S3-compatible server for offline use and demos."""

from __future__ import annotations

import signal

import click

__all__ = ["dev"]


@click.group()
def dev() -> None:
    """Local stand-ins for AWS services."""


@dev.command("s3")
@click.option("--port", default=4566, show_default=True, help="Port on 127.0.0.1.")
@click.option("--bucket", "buckets", multiple=True, help="Create this bucket (repeatable).")
def s3(port: int, buckets: tuple[str, ...]) -> None:
    """Run a local S3 server on 127.0.0.1 until interrupted (objects kept in memory)."""
    from ferry.devserver import LocalS3Server

    # Block the stop signals so they are received by sigwait below, and the server is
    # always stopped on the way out (it runs in its own process group).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    click.echo("Starting the local S3 server (first run installs it, ~10 s)...", err=True)
    with LocalS3Server(port=port) as server:
        for bucket in buckets:
            server.create_bucket(bucket)
        click.echo(f"Local S3 listening on {server.url}  (Ctrl-C to stop)", err=True)
        click.echo("Point ferry and the AWS tools at it with:", err=True)
        for name, value in server.env().items():
            click.echo(f"export {name}={value}")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
