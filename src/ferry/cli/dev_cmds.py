"""``ferry dev s3`` and ``ferry dev ec2``: local stand-ins for AWS, for offline use and demos."""

from __future__ import annotations

import signal
from pathlib import Path

import click

__all__ = ["dev"]


@click.group()
def dev() -> None:
    """Local stand-ins for AWS services."""


_STOP = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@dev.command("s3")
@click.option("--port", default=4566, show_default=True, help="Port on 127.0.0.1.")
@click.option("--bucket", "buckets", multiple=True, help="Create this bucket (repeatable).")
@click.option(
    "--tools-dir",
    envvar="FERRY_TOOLS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the server is installed (default: ~/.cache/ferry/tools; FERRY_TOOLS_DIR).",
)
def s3(port: int, buckets: tuple[str, ...], tools_dir: Path | None) -> None:
    """Run a local S3 server on 127.0.0.1 until interrupted (objects kept in memory).

    Ctrl-C, SIGTERM or SIGHUP (the terminal closed) stop it and its server.
    """
    from ferry.devserver import LocalS3Server

    # Until the server runs, a stop signal interrupts the start-up like Ctrl-C does, so the
    # server (in its own process group) is still stopped on the way out.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _interrupt)
    click.echo("Starting the local S3 server (first run installs it, ~10 s)...", err=True)
    with LocalS3Server(port=port, tools_dir=tools_dir) as server:
        # Blocked only now: the server process, started above, must not inherit the mask
        # (it would then ignore the very signals that stop it). sigwait takes them below,
        # and the server is always stopped on the way out.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
        for bucket in buckets:
            server.create_bucket(bucket)
        click.echo(f"Local S3 listening on {server.url}  (Ctrl-C to stop)", err=True)
        click.echo(f"Installed in {server.tools_dir}; objects live in its memory only.", err=True)
        click.echo("Point ferry and the AWS tools at it with:", err=True)
        for name, value in server.env().items():
            click.echo(f"export {name}={value}")
        signal.sigwait(_STOP)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dev.command("ec2")
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--instances-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where each local instance runs (default: a temporary folder).",
)
@click.option(
    "--tools-dir",
    envvar="FERRY_TOOLS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the server is installed (default: ~/.cache/ferry/tools; FERRY_TOOLS_DIR).",
)
def ec2(port: int, instances_dir: Path | None, tools_dir: Path | None) -> None:
    """Run a local EC2 (with IAM, STS, SSM and the tagging API) on 127.0.0.1 until
    interrupted; each instance created on it runs its user data as local processes.

    Ctrl-C, SIGTERM or SIGHUP stop it, its instances and its server.
    """
    import tempfile

    from ferry.devec2 import (
        DEV_AMI_NAME,
        REGION,
        LocalEc2Server,
        LocalInstances,
        LocalLauncher,
    )

    # No blocked signal mask here: the instances started below would inherit it, and
    # their training could then never receive the SIGTERM that asks it to checkpoint.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _interrupt)
    click.echo("Starting the local EC2 (first run installs moto, ~1 min)...", err=True)
    with (
        tempfile.TemporaryDirectory(prefix="ferry-ec2-") as scratch,
        LocalEc2Server(port=port, tools_dir=tools_dir) as server,
    ):
        image = server.register_image()
        folder = instances_dir or Path(scratch)
        instances = LocalInstances(LocalLauncher(server.url, folder)).start()
        try:
            click.echo(f"Local EC2 listening on {server.url}  (Ctrl-C to stop)", err=True)
            click.echo(f'Image {image} is offered as ami = "name:{DEV_AMI_NAME}",', err=True)
            click.echo(f'ami_owners = ["self"]; instances run in {folder}.', err=True)
            click.echo("Point ferry at it with:", err=True)
            for name, value in {**server.env(), "AWS_DEFAULT_REGION": REGION}.items():
                click.echo(f"export {name}={value}")
            while True:
                signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            instances.stop()
