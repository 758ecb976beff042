"""Rendering for the command line: rich on a terminal, plain text when piped."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

__all__ = ["emit_json", "human_size", "is_terminal", "print_error"]

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
