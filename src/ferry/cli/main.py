"""The ``ferry`` command group: global options, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from typing import Any

import click

from ferry.cli.output import print_error
from ferry.errors import FerryError

__all__ = ["LAZY_COMMANDS", "SHORT_HELP", "cli", "main"]

# Commands imported only when invoked (or listed in --help): name -> (module, attribute).
# ``ferry --help`` and every command then import click and the one command's module only.
LAZY_COMMANDS = {
    "cat": ("ferry.cli.storage_cmds", "cat"),
    "config": ("ferry.cli.config_cmds", "config"),
    "cp": ("ferry.cli.copy_cmds", "cp"),
    "dev": ("ferry.cli.dev_cmds", "dev"),
    "exec": ("ferry.cli.exec_cmds", "exec_"),
    "experiments": ("ferry.cli.experiments_cmds", "experiments"),
    "init": ("ferry.cli.sync_cmds", "init"),
    "ls": ("ferry.cli.storage_cmds", "ls"),
    "mb": ("ferry.cli.storage_cmds", "mb"),
    "models": ("ferry.cli.models_cmds", "models"),
    "mv": ("ferry.cli.copy_cmds", "mv"),
    "objects": ("ferry.cli.models_cmds", "objects"),
    "presign": ("ferry.cli.storage_cmds", "presign"),
    "pull": ("ferry.cli.sync_cmds", "pull"),
    "push": ("ferry.cli.sync_cmds", "push"),
    "rb": ("ferry.cli.storage_cmds", "rb"),
    "resolve": ("ferry.cli.sync_cmds", "resolve"),
    "rm": ("ferry.cli.storage_cmds", "rm"),
    "run": ("ferry.cli.runs_cmds", "run"),
    "runs": ("ferry.cli.runs_cmds", "runs"),
    "status": ("ferry.cli.sync_cmds", "status"),
    "sweep": ("ferry.cli.runs_cmds", "sweep_cmd"),
    "sync": ("ferry.cli.sync_cmds", "sync"),
    "ui": ("ferry.cli.ui_cmds", "ui"),  # light; ferry.ui (starlette, uvicorn) loads when it runs
}

# The first paragraph of each command's help, so that ``ferry --help`` lists the commands
# without importing them (a test keeps it equal to the commands' own); None for a hidden
# command. A command missing here is imported for its help: slower, still right.
SHORT_HELP: dict[str, str | None] = {
    "cat": "Write an object's bytes to standard output (as 'aws s3 cp s3://... -').",
    "config": "Inspect ferry's settings.",
    "cp": "Copy a file or (with -r) a folder: local <-> S3, or S3 -> S3 server-side.",
    "dev": "Local stand-ins for AWS services.",
    "exec": None,  # hidden: what an instance runs, not listed
    "experiments": "Browse tracked experiments (a local root or s3://bucket/prefix).",
    "init": "Create a workspace (ferry.toml) syncing with REMOTE_ROOT (s3://bucket/prefix).",
    "ls": "List objects like 'aws s3 ls': s3://bucket/prefix or a local folder.",
    "mb": "Make a bucket (in the configured region).",
    "models": "Browse a model store (ROOT: s3://bucket/prefix or a folder).",
    "mv": "Move a file or (with -r) a folder: copied, then each source copied is deleted.",
    "objects": "Objects stored with s3store (PATH: --path, FERRY_PATH or ferry.toml).",
    "presign": "Print a URL that lets anyone GET the object, for a while, without credentials.",
    "pull": "Bring the bucket's changes to the local folders (MAPPINGS, or all that may be "
    "pulled).",
    "push": "Send the local folders' changes to the bucket (MAPPINGS, or all that may be pushed).",
    "rb": "Remove a bucket (empty, or emptied first with --force).",
    "resolve": "Settle conflicts a 'manual' mapping left (exit code 20): both sides keep one "
    "version.",
    "rm": "Delete an object, or (with -r) the folder URL names: s3://b/runs/run-1 is the "
    "object runs/run-1 and everything below runs/run-1/, never runs/run-10/.",
    "run": "Run training on EC2: provision, follow, push, tear down, report.",
    "runs": "Training runs on EC2: list, watch, logs, stop, report, setup.",
    "status": "What 'ferry sync' would do, per mapping, without doing it.",
    "sweep": "Find resources of dead runs (by tag) and remove them.",
    "sync": "Sync each mapping its own way (pull, push, or both with its conflict rule); or, "
    "as 'aws s3 sync', make DST hold SRC: ferry sync SRC DST [--delete] (local <-> S3, "
    "S3 -> S3).",
    "ui": "A read-only dashboard of the experiments in ROOT(s) (local folders or "
    "s3://bucket/prefix), of model stores (--models) and of this machine's training runs "
    "(those 'ferry runs ls' lists), on http://127.0.0.1:8765.",
}


EXIT_BUG = 70  # EX_SOFTWARE: an error ferry did not expect, i.e. a bug in ferry


class FerryGroup(click.Group):
    """A click group that shows a :class:`FerryError` as one line and exits with its code;
    anything else is a bug, shown as one line too (with ``--debug``, the traceback).
    Commands in ``lazy`` (``ferry``'s: ``LAZY_COMMANDS``) are imported when first asked for.
    """

    lazy: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - replaced, never changed in place

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with the help of commands not yet imported from ``SHORT_HELP``."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name in SHORT_HELP and name not in self.commands:
                known = SHORT_HELP[name]
                command = None if known is None else click.Command(name, help=known)
            else:
                command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in rows])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FerryError as exc:
            if _debugging(ctx):
                raise
            print_error(exc.message)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _debugging(ctx):
                raise
            print_error(
                f"ferry hit a bug: {type(exc).__name__}: {exc}. Run the command again with "
                "--debug to see the traceback, and please report it."
            )
            sys.exit(EXIT_BUG)


def _debugging(ctx: click.Context) -> bool:
    return bool(ctx.meta.get("ferry.debug"))


@click.group(cls=FerryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--endpoint-url", help="S3-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL).")
@click.option("--region", help="AWS region code, e.g. eu-central-1.")
@click.option("--profile", help="AWS profile from ~/.aws/config.")
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks and log every request (SSE-C keys redacted).",
)
@click.version_option(package_name="ferry")
@click.pass_context
def cli(
    ctx: click.Context,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    debug: bool,
) -> None:
    """ferry keeps a machine-learning team's work in S3."""
    ctx.obj = {"endpoint_url": endpoint_url, "region": region, "profile": profile}
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        ctx.meta["ferry.debug"] = True


cli.lazy = LAZY_COMMANDS


def main() -> None:
    cli(prog_name="ferry")
