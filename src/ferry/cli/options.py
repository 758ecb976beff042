"""Options several commands share, spelled one way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ferry.storage.filters import Filters, rules_from_args

__all__ = [
    "FilteredCommand",
    "dry_run_option",
    "filter_options",
    "filters_of",
    "quiet_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def dry_run_option(func: F) -> F:
    """``--dryrun`` (aws's spelling) and ``--dry-run``: show what would happen."""
    return click.option(
        "--dryrun",
        "--dry-run",
        "dry_run",
        is_flag=True,
        help="Show what would be done; do nothing.",
    )(func)


def quiet_options(func: F) -> F:
    """``--quiet`` (errors only) and ``--no-progress`` (no progress display)."""
    func = click.option("--no-progress", is_flag=True, help="Do not show progress.")(func)
    return click.option("-q", "--quiet", is_flag=True, help="Print errors only.")(func)


class FilteredCommand(click.Command):
    """A command whose ``--exclude``/``--include`` rules keep their command-line order
    (click keeps each option's values apart), as ``aws s3`` applies them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ferry.filters"] = rules_from_args(args)
        return super().parse_args(ctx, args)


def filter_options(func: F) -> F:
    """``--exclude`` and ``--include`` (repeatable, in order; the last match wins)."""
    func = click.option(
        "--include",
        multiple=True,
        metavar="PATTERN",
        help="Take back paths an earlier --exclude left out.",
    )(func)
    return click.option(
        "--exclude",
        multiple=True,
        metavar="PATTERN",
        help="Leave out paths matching PATTERN (relative to the source; * spans folders).",
    )(func)


def filters_of(ctx: click.Context) -> Filters:
    """The rules of the command being run, in their order."""
    found = ctx.meta.get("ferry.filters")
    return found if isinstance(found, Filters) else Filters()
