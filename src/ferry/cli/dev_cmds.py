"""``ferry dev s3`` and ``ferry dev ec2``: local stand-ins for AWS, for offline use and demos."""

from __future__ import annotations

import signal
from pathlib import Path

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


@dev.command("ec2")
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--instances-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where each local instance runs (default: a temporary folder).",
)
def ec2(port: int, instances_dir: Path | None) -> None:
    """Run a local EC2 (with IAM, STS, SSM and the tagging API) on 127.0.0.1 until
    interrupted; each instance created on it runs its user data as local processes."""
    import tempfile

    from ferry.devec2 import (
        DEV_AMI_NAME,
        REGION,
        LocalEc2Server,
        LocalInstances,
        LocalLauncher,
    )

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    click.echo("Starting the local EC2 (first run installs moto, ~20 s)...", err=True)
    with (
        tempfile.TemporaryDirectory(prefix="ferry-ec2-") as scratch,
        LocalEc2Server(port=port) as server,
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
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            instances.stop()
