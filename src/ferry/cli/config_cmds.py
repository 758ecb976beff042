"""``ferry config show``: the effective settings and where each came from."""

from __future__ import annotations

import click

from ferry.cli.output import emit_json, is_terminal, print_table
from ferry.config import load_settings

__all__ = ["config"]


@click.group()
def config() -> None:
    """Inspect ferry's settings."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: dict[str, str | None], as_json: bool) -> None:
    """Print each setting, its value and its source (the SSE-C key redacted)."""
    rows = load_settings(obj).rows()
    if as_json:
        emit_json({name: {"value": value, "source": source} for name, value, source in rows})
    elif is_terminal():
        print_table("ferry settings", ["setting", "value", "source"], [list(r) for r in rows])
    else:
        for name, value, source in rows:
            click.echo(f"{name}\t{value}\t{source}")
