"""``ferry run``, ``ferry runs ls|watch|logs|stop|report|setup`` and ``ferry sweep``.

What runs an instance's user data can be injected through the click context
(``ctx.meta["ferry.runs.launcher"]``): tests and the demo put a local launcher there; on
AWS nothing is set and EC2 runs it. ``ctx.meta["ferry.runs.poll_s"]`` shortens polling.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.output import emit_json, is_terminal
from ferry.config import load_settings

if TYPE_CHECKING:
    from ferry.runs.launch import RunEnv
    from ferry.runs.spec import RunSpec

__all__ = ["COMMANDS", "EXIT_LEFT", "EXIT_RUN_FAILED"]

EXIT_RUN_FAILED = 14  # the run ended but did not succeed, or its push is unverified
EXIT_LEFT = 15  # resources may be left: run 'ferry sweep'


def _env(obj: dict[str, Any], region: str | None = None, cwd: Path | None = None) -> RunEnv:
    from ferry.aws import AwsOptions
    from ferry.runs.ec2 import Ec2Provider
    from ferry.runs.launch import RunEnv
    from ferry.runs.ledger import Ledger
    from ferry.storage.s3 import S3Options

    settings = load_settings({**obj, "region": region or obj.get("region")}, cwd=cwd)
    aws = AwsOptions.from_settings(settings)
    meta = click.get_current_context().meta
    poll_s = float(meta.get("ferry.runs.poll_s", 2.0))
    provider = Ec2Provider(
        aws,
        launcher=meta.get("ferry.runs.launcher"),
        poll_s=poll_s,
        visible_s=float(meta.get("ferry.runs.visible_s", 60.0)),
    )
    return RunEnv(
        provider,
        Ledger(),
        S3Options.from_settings(settings),
        endpoints=dict(aws.endpoints),
        poll_s=poll_s,
    )


def _secrets(spec: RunSpec, env: RunEnv) -> dict[str, str]:
    from ferry.errors import ConfigError

    found = {}
    if env.s3.sse_c is not None:
        found["sse-c-key"] = env.s3.sse_c.base64()
    if spec.git_token_env:
        if not os.environ.get(spec.git_token_env):
            raise ConfigError(
                f"[run] git_token_env names {spec.git_token_env}, which is not set.",
                f"export {spec.git_token_env}=<token>, or remove git_token_env.",
            )
        found["git-token"] = os.environ[spec.git_token_env]
    if spec.deploy_key_file:
        path = Path(spec.deploy_key_file).expanduser()
        try:
            found["deploy-key"] = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"[run] deploy_key_file {path} cannot be read ({exc.__class__.__name__}).",
                "Point deploy_key_file at the private key of the repository's deploy key.",
            ) from exc
    return found


def _run_id(given: str | None) -> str:
    """``given``, or the newest run in the ledger."""
    from ferry.errors import NotFoundError
    from ferry.runs.ledger import Ledger

    if given:
        return given
    ledger = Ledger()
    newest = ledger.run_ids()
    if not newest:
        raise NotFoundError(f"No runs in {ledger.folder} yet.", "Start one with 'ferry run'.")
    return newest[0]


@click.command("run")
@click.argument("run_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Remove dead runs' leftovers before launching.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--emit", type=click.Choice(["skypilot"]), help="Write a task for another engine instead."
)
@click.option("--nodes", default=1, show_default=True, help="Nodes for --emit skypilot.")
@click.pass_obj
def run(
    obj: dict[str, Any],
    run_file: Path | None,
    yes: bool,
    as_json: bool,
    emit: str | None,
    nodes: int,
) -> None:
    """Run training on EC2: provision, follow, push, tear down, report."""
    from ferry.runs.orchestrate import Callbacks
    from ferry.runs.orchestrate import run as run_to_end
    from ferry.runs.spec import load_run_spec
    from ferry.sync import find_workspace

    spec = load_run_spec(run_file)
    workspace = find_workspace(spec.folder)
    env = _env(obj, spec.region, spec.folder)
    if emit:
        return _emit(spec, workspace, env, nodes)
    calls = Callbacks(
        event=lambda text: click.echo(f"ferry: {text}", err=True),
        log=lambda text: click.echo(text, nl=False, err=True),
        tearing_down=_hold_ctrl_c,
    )
    previous = signal.getsignal(signal.SIGINT)
    try:
        report = run_to_end(
            spec, workspace, env, secrets=_secrets(spec, env), calls=calls, sweep_yes=yes
        )
        _finish(report, as_json)  # a late Ctrl-C must not swallow the report either
    finally:
        signal.signal(signal.SIGINT, previous)


def _hold_ctrl_c() -> None:
    """From teardown on, Ctrl-C explains instead of interrupting (it would leave resources)."""

    def explain(signum: int, frame: object) -> None:
        click.echo(
            "ferry: tearing down, so that nothing is left that costs money; Ctrl-C is ignored "
            "until that ends (if this process is killed, 'ferry sweep' finishes the job).",
            err=True,
        )

    signal.signal(signal.SIGINT, explain)


def _emit(spec: RunSpec, workspace: Any, env: RunEnv, nodes: int) -> None:
    import importlib
    import importlib.metadata
    import tempfile

    from ferry.runs.bundle import build_wheel, upload_bundle
    from ferry.runs.launch import _config, run_root
    from ferry.runs.layout import new_run_id

    run_id = new_run_id(spec.name)
    config = _config(spec, workspace, run_id, env, {}, importlib.metadata.version("ferry"))
    stores = env.stores(f"{run_root(spec, workspace)}/{run_id}/", config.sse_c)
    with tempfile.TemporaryDirectory() as folder:
        key = upload_bundle(stores, config, spec.folder, build_wheel(Path(folder)))
    skypilot = importlib.import_module("ferry.runs.executor.skypilot")
    click.echo(
        skypilot.task_yaml(
            config,
            stores.run_url,
            nodes,
            wheel_url=stores.presign(key, 7 * 86400),
            instance_type=spec.instance_type,
            disk_gb=spec.root_volume_gb,
        )
    )


def _finish(report: dict[str, Any], as_json: bool) -> None:
    from ferry.runs.report import format_report

    if not report:
        sys.exit(EXIT_RUN_FAILED)
    if as_json:
        emit_json(report)
    else:
        click.echo(format_report(report), nl=False)
    if report["left_count"]:
        sys.exit(EXIT_LEFT)
    if not report["succeeded"] or report.get("interrupted"):
        sys.exit(EXIT_RUN_FAILED)


@click.group("runs")
def runs() -> None:
    """Training runs on EC2: list, watch, logs, stop, report, setup."""


@runs.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def ls(obj: dict[str, Any], as_json: bool) -> None:
    """Runs in the local ledger: status, age, cost."""
    from ferry.runs.views import run_rows

    rows = run_rows(_env(obj))
    if as_json:
        emit_json(rows)
        return
    click.echo("\t".join(["run", "state", "phase", "age", "cost", "left"]))
    for row in rows:
        click.echo(
            "\t".join(str(row[k]) for k in ("run_id", "state", "phase", "age", "cost", "left"))
        )


@runs.command("watch")
@click.argument("run_id", required=False)
@click.option("--once", is_flag=True, help="Print one view and exit.")
@click.pass_obj
def watch(obj: dict[str, Any], run_id: str | None, once: bool) -> None:
    """One live view: phase, instance, heartbeat, resources, logs, metrics, cost (of RUN_ID,
    or of the newest run)."""
    from ferry.runs.views import watch_view

    env = _env(obj)
    run_id = _run_id(run_id)
    if once or not is_terminal():
        from rich.console import Console

        Console().print(watch_view(env, run_id))
        return
    from rich.live import Live

    with Live(watch_view(env, run_id), refresh_per_second=1) as live:
        while True:
            time.sleep(env.poll_s)
            live.update(watch_view(env, run_id))


@runs.command("logs")
@click.argument("run_id", required=False)
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep printing new output.")
@click.option("--rank", default=0, show_default=True)
@click.pass_obj
def logs(obj: dict[str, Any], run_id: str | None, follow_: bool, rank: int) -> None:
    """The training's output, from S3 (of RUN_ID, or of the newest run)."""
    from ferry.runs.layout import FINAL
    from ferry.runs.monitor import LogCursor, read_json
    from ferry.runs.views import run_stores

    env = _env(obj)
    bus = run_stores(env, _run_id(run_id)).bus()
    cursor = LogCursor(bus, rank)
    while True:
        for text in cursor.new_text():
            click.echo(text, nl=False)
        if not follow_ or read_json(bus, FINAL) is not None:
            return
        time.sleep(env.poll_s)


@runs.command("stop")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def stop(obj: dict[str, Any], run_id: str, as_json: bool) -> None:
    """Ask the run to stop and push, then tear it down (safe to repeat)."""
    from ferry.runs.teardown import Teardown

    env = _env(obj)
    record = env.ledger.read(run_id)
    env = _env(obj, record.start.get("region"))
    _finish(
        Teardown(env, record, on_event=lambda t: click.echo(f"ferry: {t}", err=True)).run(
            cancel="ferry runs stop"
        ),
        as_json,
    )


@runs.command("report")
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def report(obj: dict[str, Any], run_id: str | None, as_json: bool) -> None:
    """The report written at teardown (of RUN_ID, or of the newest run)."""
    from ferry.errors import NotFoundError
    from ferry.runs.layout import check_run_id
    from ferry.runs.ledger import Ledger

    run_id = _run_id(run_id)
    path = Ledger().folder / f"{check_run_id(run_id)}.report.json"
    if not path.exists():
        raise NotFoundError(
            f"No report for {run_id} yet.", f"Tear it down with 'ferry runs stop {run_id}'."
        )
    data = json.loads(path.read_text())
    if as_json:
        emit_json(data)
    else:
        click.echo((Ledger().folder / f"{run_id}.report.txt").read_text(), nl=False)


@runs.command("setup")
@click.option("--dry-run", is_flag=True, help="Print what would be made (JSON); change nothing.")
@click.pass_obj
def setup(obj: dict[str, Any], dry_run: bool) -> None:
    """Once per account and region: security group, instance role/profile; prints the
    dev user's minimal IAM policy."""
    from ferry.aws import AwsOptions
    from ferry.runs.account import apply_setup, setup_plan
    from ferry.sync import find_workspace

    workspace = find_workspace(Path.cwd())
    prefixes = [workspace.remote_root.rstrip("/")]
    plan = setup_plan(prefixes)
    if dry_run:
        emit_json(plan)
        return
    made = apply_setup(AwsOptions.from_settings(load_settings(obj, cwd=workspace.root)), prefixes)
    click.echo("created: " + ", ".join(made) if made else "everything already exists")
    click.echo("The dev user needs this IAM policy:")
    click.echo(json.dumps(plan["dev_user_policy"], indent=2))


@click.command("sweep")
@click.option("--yes", is_flag=True, help="Remove the dead runs' leftovers (default: show them).")
@click.option("--run", "only", multiple=True, help="Sweep this run even if it is not dead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sweep_cmd(obj: dict[str, Any], yes: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Find resources of dead runs (by tag) and remove them."""
    from ferry.runs.sweep import find_leftovers, sweep

    env = _env(obj)
    leftovers = find_leftovers(env)
    listing = {
        run_id: {"verdict": verdict, "resources": [str(r) for r in leftovers.resources[run_id]]}
        for run_id, verdict in sorted(leftovers.verdicts.items())
    }
    reports = (
        sweep(
            env,
            leftovers,
            only=list(only) or None,
            final_wait_s=0 if not only else None,
            on_event=lambda t: click.echo(f"ferry: {t}", err=True),
        )
        if yes or only
        else []
    )
    if as_json:
        emit_json({"leftovers": listing, "reports": reports})
    else:
        for run_id, item in listing.items():
            click.echo(f"{run_id}\t{item['verdict']}\t{', '.join(item['resources'])}")
        for rep in reports:
            click.echo(
                f"{rep['run_id']}: destroyed {len(rep['destroyed'])}, left {rep['left_count']}"
            )
        if not listing:
            click.echo("nothing left by any run")
        elif not (yes or only):
            click.echo("run 'ferry sweep --yes' to remove the dead runs' resources", err=True)
    if any(r["left_count"] for r in reports):
        sys.exit(EXIT_LEFT)


COMMANDS = (run, runs, sweep_cmd)
