"""``ferry exec RUN_URL``: the on-instance side of a run (user data or an engine calls it).

The command line only resolves what the supervisor needs (settings, rank, environment,
the metadata service) and reports; the work is :func:`ferry.runs.executor.execute`.
Its exit status is training's own (0 on success; see ``ferry.runs.executor.state``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.config import load_settings

if TYPE_CHECKING:
    from ferry.config import Settings

__all__ = ["COMMANDS", "exec_"]


@click.command("exec", hidden=True)
@click.argument("run_url")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default="ferry-run",
    show_default=True,
    help="Folder for the checkout, the data and the local log (must be new or empty).",
)
@click.option(
    "--imds-url",
    envvar="FERRY_IMDS_URL",
    help="Instance metadata service to poll for spot notices (default: EC2's, on spot).",
)
@click.pass_obj
def exec_(obj: dict[str, Any], run_url: str, workdir: Path, imds_url: str | None) -> None:
    """Run a run's checkout, pull, setup, training and push on this machine.

    RUN_URL is the run's prefix, s3://bucket/<run root>/<run id>/, as 'ferry run' made it.
    """
    from ferry.runs.executor import ExecRequest, execute, rank_from_env

    request = ExecRequest(
        run_url=run_url,
        workdir=workdir.resolve(),
        settings=load_settings(obj),
        rank=rank_from_env(os.environ),
        env=dict(os.environ),
        imds_url=imds_url,
        imds_allowed=os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true",
        metrics=tracking_metrics,
        note=_say,
    )
    result = execute(request)
    if not result.final_written and request.rank.leader:
        _say("final.json was not written (see above)")
    sys.exit(result.exit_code)


def _say(message: str) -> None:
    click.echo(f"{time.strftime('%H:%M:%S')} ferry exec: {message}", err=True)


def tracking_metrics(root: str, settings: Settings) -> Callable[[], dict[str, Any]]:
    """Reads the latest value of each metric the training logged with ferry's tracking
    under ``root`` (the newest experiment wins where two log the same name)."""
    from ferry.storage import open_store
    from ferry.storage.s3 import S3Options
    from ferry.tracking import Rubicon

    store = open_store(root, s3_options=S3Options.from_settings(settings))

    def read() -> dict[str, Any]:
        experiments = [e for p in Rubicon(stores=[store]).projects() for e in p.experiments()]
        latest: dict[str, Any] = {}
        for experiment in sorted(experiments, key=lambda e: e.created_at):
            latest.update({m.name: m.value for m in experiment.metrics()})
        return latest

    return read


COMMANDS = (exec_,)
