"""Rendering for the command line: rich on a terminal, plain text when piped."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

__all__ = ["emit_json", "human_size", "is_terminal", "print_error", "print_table"]

_UNITS = ("Bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: float) -> str:
    """Like ``aws s3 ls --human-readable``: '4.0 KiB', '500 Bytes'."""
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "Bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def is_terminal() -> bool:
    return sys.stdout.isatty()


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def print_error(message: str) -> None:
    """One clear line on stderr (red on a terminal)."""
    if sys.stderr.isatty():
        from rich.console import Console

        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {message}", markup=True)
    else:
        click.echo(f"error: {message}", err=True)


def print_table(
    title: str,
    columns: list[str],
    rows: list[list[str]],
    *,
    console: Any = None,
) -> None:
    """A table: rich on a terminal, fitted to its width (cells wrap, never cut; columns
    that cannot fit are left out, and a note says so); tab-separated lines when piped."""
    if console is None and not is_terminal():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(row))
        return
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    shown = _columns_that_fit(columns, rows, console.width)
    table = Table(title=title, expand=False)
    for index in shown:
        table.add_column(columns[index], overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    console.print(table)
    if len(shown) < len(columns):
        left = [columns[i] for i in range(len(columns)) if i not in shown]
        console.print(f"({len(left)} more column(s) not shown: {', '.join(left)}; use --json)")


_FOLD = 12  # narrowest a column of long words gets: they fold, whole, over lines


def _columns_that_fit(columns: list[str], rows: list[list[str]], width: int) -> list[int]:
    """The leading columns whose narrow form fits in ``width`` with rich's borders and
    padding: each as wide as its longest word, up to ``_FOLD`` (longer words fold onto
    the next line: wrapped, never cut)."""
    shown: list[int] = []
    used = 1
    for index, name in enumerate(columns):
        words = [name, *(cell for row in rows for cell in row[index].split())]
        need = min(max(len(w) for w in words), _FOLD) + 3  # the cell, its padding, a border
        if used + need > width and len(shown) >= 2:
            break
        shown.append(index)
        used += need
    return shown
