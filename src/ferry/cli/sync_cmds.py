"""``ferry init``, ``ferry push``, ``ferry pull``, ``ferry sync`` and ``ferry status``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.group import end_without_teardown
from ferry.cli.options import (
    FilteredCommand,
    dry_run_option,
    filter_options,
    filters_of,
    quiet_options,
)
from ferry.cli.output import emit_json, human_size, is_terminal, print_table
from ferry.config import load_settings
from ferry.errors import ConfigError

if TYPE_CHECKING:
    from ferry.sync.run import Mode

__all__ = ["COMMANDS", "EXIT_CONFLICTS", "EXIT_ERRORS"]

EXIT_CONFLICTS = 20  # the sync finished, but conflicts were left for you to resolve
EXIT_ERRORS = 21  # the sync finished, but some files failed (listed on stderr)


@click.command("init")
@click.argument("remote_root")
@click.option(
    "--dir",
    "folder",
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace folder (default: here).",
)
def init(remote_root: str, folder: Path) -> None:
    """Create a workspace (ferry.toml) syncing with REMOTE_ROOT (s3://bucket/prefix)."""
    from ferry.sync import init_workspace

    path = init_workspace(folder, remote_root)
    click.echo(
        f"wrote {path}: data/cached_datasets (pull), data/logs, data/models, "
        "data/checkpoints (both ways)"
    )


def _options(command: Any) -> Any:
    options: list[Any] = [
        click.argument("mappings", nargs=-1),
        dry_run_option,
        click.option("--yes", is_flag=True, help="Allow deleting many files."),
        click.option(
            "--delete-threshold",
            type=click.FloatRange(0.0, 1.0),
            default=0.5,
            show_default=True,
            help="Fraction of a side's files a sync may delete without --yes.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
        click.option(
            "--exact/--size-only",
            default=True,
            help="Compare contents by checksum (default), or sizes only (like s5cmd).",
        ),
        filter_options,
        quiet_options,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("push", cls=FilteredCommand)
@_options
@click.pass_context
def push(ctx: click.Context, /, **kwargs: Any) -> None:
    """Send the local folders' changes to the bucket (MAPPINGS, or all that may be pushed)."""
    _run(ctx, "push", **kwargs)


@click.command("pull", cls=FilteredCommand)
@_options
@click.pass_context
def pull(ctx: click.Context, /, **kwargs: Any) -> None:
    """Bring the bucket's changes to the local folders (MAPPINGS, or all that may be pulled)."""
    _run(ctx, "pull", **kwargs)


@click.command("sync", cls=FilteredCommand)
@_options
@click.option("--delete", is_flag=True, help="SRC DST form: delete what the source lacks.")
@click.pass_context
def sync(ctx: click.Context, /, delete: bool, **kwargs: Any) -> None:
    """Sync each mapping its own way (pull, push, or both with its conflict rule); or, as
    'aws s3 sync', make DST hold SRC: ferry sync SRC DST [--delete] (local <-> S3, S3 -> S3)."""
    args = kwargs["mappings"]
    if any(a.startswith("s3://") for a in args):
        _sync_paths(ctx, delete=delete, **kwargs)
        return
    if len(args) == 2 and not _in_a_workspace():
        raise ConfigError(
            f"Neither {args[0]} nor {args[1]} is an s3:// URL, and there is no workspace "
            "here whose mappings they could name.",
            "ferry sync SRC DST needs an s3:// side (two local folders: use rsync).",
        )
    if delete:
        raise ConfigError(
            "--delete is for the 'ferry sync SRC DST' form.",
            "A workspace deletes what its state proves was deleted; drop --delete.",
        )
    _run(ctx, "sync", **kwargs)


def _in_a_workspace() -> bool:
    """Whether a workspace is here; one whose ferry.toml has a mistake raises its error."""
    from ferry.sync.workspace import workspace_file

    return workspace_file(Path.cwd()) is not None


def _sync_paths(
    ctx: click.Context,
    *,
    mappings: tuple[str, ...],
    delete: bool,
    dry_run: bool,
    yes: bool,
    delete_threshold: float,
    as_json: bool,
    exact: bool,
    quiet: bool,
    no_progress: bool,
    **_filters: Any,
) -> None:
    from ferry.sync.paths import sync_paths

    end_without_teardown()
    if len(mappings) != 2:
        raise ConfigError(
            f"'ferry sync' with an s3:// URL takes a source and a destination, not "
            f"{len(mappings)} paths.",
            "Write: ferry sync SRC DST (a local folder or an s3:// prefix each).",
        )
    source, dest = mappings
    outcome = sync_paths(
        source,
        dest,
        load_settings(ctx.obj),
        delete=delete,
        dry_run=dry_run,
        yes=yes,
        delete_threshold=delete_threshold,
        size_only=not exact,
        filters=filters_of(ctx),
    )
    _show([outcome], dry_run, as_json, quiet)
    _exit([outcome])


@click.command("status")
@click.argument("mappings", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, /, mappings: tuple[str, ...], as_json: bool) -> None:
    """What 'ferry sync' would do, per mapping, without doing it."""
    _run(
        ctx,
        "sync",
        mappings=mappings,
        dry_run=True,
        yes=True,
        delete_threshold=1.0,
        as_json=as_json,
    )


def _run(
    ctx: click.Context,
    mode: Mode,
    *,
    mappings: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    delete_threshold: float,
    as_json: bool,
    exact: bool = True,
    quiet: bool = False,
    no_progress: bool = False,
    **_filters: Any,
) -> None:
    from ferry.sync import find_workspace, run_workspace

    end_without_teardown()
    workspace = find_workspace(Path.cwd())
    settings = load_settings(ctx.obj, cwd=workspace.root)
    hide = dry_run or as_json or quiet or no_progress
    result = run_workspace(
        workspace,
        mode,
        settings,
        mappings=mappings,
        dry_run=dry_run,
        yes=yes,
        delete_threshold=delete_threshold,
        size_only=not exact,
        filters=filters_of(ctx),
        progress=lambda name: _progress(name, hide),
    )
    _show(result.outcomes, dry_run, as_json, quiet)
    _exit(result.outcomes)


def _progress(name: str, quiet: bool) -> AbstractContextManager[Any]:
    """Files, bytes, rate and ETA on a terminal; nothing when piped or quiet."""
    if quiet or not is_terminal():
        return nullcontext((None, None))
    return _RichProgress(name)


class _RichProgress:
    """One bar per mapping: files done of files to move, bytes, rate and time left."""

    def __init__(self, name: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn(f"{name} {{task.fields[done]}}/{{task.fields[files]}} files"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> tuple[Any, Any]:
        self.progress.start()
        return self.on_plan, self.on_file

    def on_plan(self, plan: Any) -> None:
        total = sum(a.size for a in plan.transfers)
        self.task = self.progress.add_task(
            "sync", total=total or None, done=0, files=len(plan.transfers)
        )

    def on_file(self, size: int) -> None:
        if self.task is not None:
            done = self.progress.tasks[0].fields["done"] + 1
            self.progress.update(self.task, advance=size, done=done)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _show(outcomes: list[Any], dry_run: bool, as_json: bool, quiet: bool = False) -> None:
    if as_json:
        emit_json([_as_dict(o, dry_run) for o in outcomes])
        return
    if quiet and not dry_run:
        for outcome in outcomes:
            _show_problems(outcome)
        return
    for outcome in outcomes:
        if dry_run:
            for action in outcome.plan.actions:
                if action.kind not in ("skip", "pending"):
                    click.echo(
                        f"{outcome.mapping.name}\t{action.kind}\t{action.path}\t{action.reason}"
                    )
            skipped = len(outcome.plan.of("skip"))
            pending = len(outcome.plan.of("pending"))
            changes = len(outcome.plan.actions) - skipped - pending
            click.echo(
                f"{outcome.mapping.name}: {changes} change(s), {skipped} identical"
                + (f", {pending} waiting for the other direction" if pending else "")
                + (
                    f": {outcome.report.direction}"
                    if outcome.report.direction.startswith("skipped")
                    else f" ({outcome.report.direction})"
                )
            )
            if outcome.report.refusal:
                click.echo(
                    f"{outcome.mapping.name}: a real run would refuse: "
                    f"{outcome.report.refusal} (add --yes if that is what you want)"
                )
        _show_pending(outcome)
        _show_encryption(outcome)
        _show_problems(outcome)
    if not dry_run:
        _table(outcomes)


def _show_problems(outcome: Any) -> None:
    """The files that failed and the conflicts left (what exit codes 21 and 20 mean)."""
    for path, message in outcome.report.errors:
        click.echo(f"error: {outcome.mapping.name}: {path}: {message}", err=True)
    for path, reason in outcome.report.unresolved:
        click.echo(f"conflict: {outcome.mapping.name}: {path}: {reason}", err=True)


def _show_encryption(outcome: Any) -> None:
    report, name = outcome.report, outcome.mapping.name
    if report.encrypted:
        click.echo(
            f"{name}: {report.encrypted} object(s) rewritten with your SSE-C key "
            "(server-side, nothing uploaded again)",
            err=True,
        )
    if report.not_encrypted:
        why = (
            "pull-only data is read, never rewritten"
            if outcome.mapping.direction == "pull"
            else "a push of this mapping rewrites them"
        )
        click.echo(
            f"{name}: {report.not_encrypted} object(s) not encrypted with your SSE-C key; {why}",
            err=True,
        )


def _show_pending(outcome: Any) -> None:
    """Say what this direction left for the other (a new local file kept by pull...)."""
    pending = outcome.plan.of("pending")
    if not pending:
        return
    by_reason: dict[str, list[str]] = {}
    for action in pending:
        by_reason.setdefault(action.reason, []).append(action.path)
    for reason, paths in by_reason.items():
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        click.echo(f"{outcome.mapping.name}: {len(paths)} {reason}: {shown}", err=True)


def _as_dict(outcome: Any, dry_run: bool) -> dict[str, Any]:
    report = outcome.report
    data: dict[str, Any] = {"mapping": outcome.mapping.name, "direction": report.direction}
    if dry_run:
        data["actions"] = [
            {"path": a.path, "action": a.kind, "reason": a.reason, "size": a.size}
            for a in outcome.plan.actions
            if a.kind not in ("skip", "pending")
        ]
        data["pending"] = [{"path": a.path, "reason": a.reason} for a in outcome.plan.of("pending")]
        data["identical"] = len(outcome.plan.of("skip"))
        data["refusal"] = report.refusal
        return data
    data.update({k: v for k, v in vars(report).items() if k not in {"mapping", "direction"}})
    data["throughput_bytes_per_second"] = (
        round(report.moved_bytes / report.seconds) if report.seconds else 0
    )
    return data


def _table(outcomes: list[Any]) -> None:
    print_table("ferry sync", *summary(outcomes))


def summary(outcomes: list[Any]) -> tuple[list[str], list[list[str]]]:
    """One row per mapping, narrow enough for an 80-column terminal (--json has it all)."""
    columns = ["mapping", "way", "up", "down", "del", "same", "open", "err", "time"]
    rows = []
    for o in outcomes:
        r = o.report
        rate = human_size(r.moved_bytes / r.seconds) + "/s" if r.seconds else "-"
        rows.append(
            [
                o.mapping.name,
                o.direction or "-",
                f"{r.uploaded} ({human_size(r.uploaded_bytes)})",
                f"{r.downloaded} ({human_size(r.downloaded_bytes)})",
                str(r.deleted_remote + r.deleted_local),
                str(r.skipped),
                str(len(r.unresolved)),
                str(len(r.errors)),
                f"{r.seconds:.2f}s {rate}",
            ]
        )
    return columns, rows


def _exit(outcomes: list[Any]) -> None:
    if any(o.report.errors for o in outcomes):
        sys.exit(EXIT_ERRORS)
    if any(o.report.unresolved for o in outcomes):
        sys.exit(EXIT_CONFLICTS)


@click.command("resolve")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--keep",
    type=click.Choice(["local", "remote"]),
    required=True,
    help="Which side's version both sides keep (or its deletion).",
)
@click.pass_obj
def resolve(obj: dict[str, Any], paths: tuple[Path, ...], keep: str) -> None:
    """Settle conflicts a 'manual' mapping left (exit code 20): both sides keep one version."""
    from ferry.storage import open_store
    from ferry.storage.s3 import S3Options
    from ferry.sync import find_workspace
    from ferry.sync.resolve import resolve as settle

    workspace = find_workspace(Path.cwd())
    options = S3Options.from_settings(load_settings(obj, cwd=workspace.root))
    for path in paths:
        done = settle(workspace, path, keep, lambda url: open_store(url, s3_options=options))  # type: ignore[arg-type]
        click.echo(done)


COMMANDS = (init, push, pull, sync, status, resolve)
