"""The ``ferry`` command group: global options, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from typing import Any

import click

from ferry.cli.output import print_error
from ferry.errors import FerryError

__all__ = ["cli", "main"]


EXIT_BUG = 70  # EX_SOFTWARE: an error ferry did not expect, i.e. a bug in ferry

# Commands imported only when invoked (or listed in --help): name -> (module, attribute).
LAZY_COMMANDS = {
    "run": ("ferry.cli.runs_cmds", "run"),
    "runs": ("ferry.cli.runs_cmds", "runs"),
    "sweep": ("ferry.cli.runs_cmds", "sweep_cmd"),
    "exec": ("ferry.cli.exec_cmds", "exec_"),
}


class FerryGroup(click.Group):
    """A click group that shows a :class:`FerryError` as one line and exits with its code;
    anything else is a bug, shown as one line too (with ``--debug``, the traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

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


def _register() -> None:
    from ferry.cli import (
        config_cmds,
        copy_cmds,
        dev_cmds,
        experiments_cmds,
        models_cmds,
        storage_cmds,
        sync_cmds,
        ui_cmds,
    )

    commands = (
        *storage_cmds.COMMANDS,
        *copy_cmds.COMMANDS,
        *sync_cmds.COMMANDS,
        config_cmds.config,
        dev_cmds.dev,
        experiments_cmds.experiments,
        models_cmds.models,
        models_cmds.objects,
        ui_cmds.ui,  # the command is light; ferry.ui (starlette, uvicorn) loads when it runs
    )
    for command in commands:
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="ferry")
