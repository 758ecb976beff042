"""The click group every ferry command line uses: errors as one line and an exit code,
commands imported when first asked for."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ferry.cli.output import print_error
from ferry.errors import FerryError

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_UNFLUSHED",
    "FerryGroup",
    "end_without_teardown",
    "forget_quick_end",
    "leave",
]

EXIT_BUG = 70  # EX_SOFTWARE: an error ferry did not expect, i.e. a bug in ferry
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a program Ctrl-C stopped
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the program reading the output went away
EXIT_UNFLUSHED = 120  # Python's own code when its output cannot be flushed at the end

_quick_end = False  # set by a command that leaves nothing for the interpreter to tear down


def end_without_teardown() -> None:
    """Let this process end as soon as the command is done, skipping the interpreter's
    teardown (module clean-up, obstore's runtime: ~12 ms, a tenth of a no-op sync).

    Only for a command whose files are closed by ``with`` blocks, whose pools are joined
    (a listing thread left behind by an error only reads), and that registers nothing
    with ``atexit``: the sync commands."""
    global _quick_end
    _quick_end = True


def forget_quick_end() -> None:
    """Undo :func:`end_without_teardown` (a sync run in this process without ``main``)."""
    global _quick_end
    _quick_end = False


def leave(done: SystemExit) -> None:
    """End the process with ``done``'s code, at once if the command allowed it (see
    :func:`end_without_teardown`); otherwise return and let ``done`` be raised as usual.
    Output that cannot be flushed changes a success into a failure, as Python's own end
    does (120; 141 for a reader that went away), never a failure's own code."""
    global _quick_end
    quick, _quick_end = _quick_end, False  # a later command in this process decides anew
    code = 0 if done.code is None else done.code
    if not quick or not isinstance(code, int):
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # no such stream (fd closed at start): nothing to flush
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away, as when the command wrote
            code = code or EXIT_BROKEN_PIPE
        except (OSError, ValueError):  # a full disk, a closed file: the output is lost
            code = code or EXIT_UNFLUSHED
    os._exit(code)


class FerryGroup(click.Group):
    """A click group that shows a :class:`FerryError` as one line and exits with its code;
    anything else is a bug, shown as one line too (with ``--debug``, the traceback).
    Commands in ``lazy`` (``ferry``'s: ``LAZY_COMMANDS``) are imported when first asked for.
    """

    lazy: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - replaced, never changed in place
    listed_help: dict[str, str | None] = {}  # noqa: RUF012 - the same

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing; a command not yet imported shows its ``listed_help`` line."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name in self.listed_help and name not in self.commands:
                known = self.listed_help[name]
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
        except KeyboardInterrupt:
            if _debugging(ctx):
                raise
            print_error("interrupted (Ctrl-C).")
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # the reader went away ('ferry cat ... | head'): not an error of ferry's. The
            # Python documentation's way: send what is left to /dev/null, end quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
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
