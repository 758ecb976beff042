"""``ferry cp`` and ``ferry mv``: a file or (with -r) a folder, between disk and S3 or
between two S3 locations (server-side), with aws's ``--exclude``/``--include``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.locations import Location, locate
from ferry.cli.options import (
    FilteredCommand,
    dry_run_option,
    filter_options,
    filters_of,
    quiet_options,
)
from ferry.cli.output import emit_json, human_size, is_terminal
from ferry.errors import ConfigError, MultiError
from ferry.storage.base import Concurrent, ObjectInfo, join_key

if TYPE_CHECKING:
    from ferry.storage.journal import UploadJournal

__all__ = ["COMMANDS"]


@dataclass(frozen=True)
class Step:
    """One object to copy: from ``source``'s key to ``dest``'s key."""

    key: str
    dest_key: str
    info: ObjectInfo | None = None


def _command(name: str, verb: str) -> Callable[[Callable[..., None]], click.Command]:
    def decorate(func: Callable[..., None]) -> click.Command:
        options: list[Callable[[Any], Any]] = [
            click.argument("source"),
            click.argument("dest"),
            click.option("-r", "--recursive", is_flag=True, help=f"{verb} a folder/prefix."),
            click.option("--json", "as_json", is_flag=True, help="Print a JSON summary."),
            dry_run_option,
            quiet_options,
            filter_options,
            click.option(
                "--source-key-file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="SSE-C key file of the S3 source, when not the configured key.",
            ),
            click.option(
                "--source-plain",
                is_flag=True,
                help="The S3 source is stored without SSE-C (the copy gets your key).",
            ),
            click.pass_context,
        ]
        for option in reversed(options):
            func = option(func)
        return click.command(name, cls=FilteredCommand)(func)

    return decorate


@_command("cp", "Copy")
def cp(ctx: click.Context, /, **kwargs: Any) -> None:
    """Copy a file or (with -r) a folder: local <-> S3, or S3 -> S3 server-side."""
    _transfer(ctx, move=False, **kwargs)


@_command("mv", "Move")
def mv(ctx: click.Context, /, **kwargs: Any) -> None:
    """Move a file or (with -r) a folder: copied, then each source copied is deleted."""
    _transfer(ctx, move=True, **kwargs)


def _transfer(
    ctx: click.Context,
    *,
    move: bool,
    source: str,
    dest: str,
    recursive: bool,
    as_json: bool,
    dry_run: bool,
    quiet: bool,
    no_progress: bool,
    exclude: tuple[str, ...],
    include: tuple[str, ...],
    source_key_file: Path | None,
    source_plain: bool,
) -> None:
    src, dst = locate(source, ctx.obj, must_exist=True), locate(dest, ctx.obj)
    src = _source_key(src, source_key_file, source_plain)
    if not (src.is_s3 or dst.is_s3):
        raise ConfigError("Both locations are local.", "Use the system's cp or mv for that.")
    if recursive:
        src, dst, steps = _tree(src, dst, source, dest, filters_of(ctx))
    else:
        src, dst, steps = _one(src, dst, source, dest)
    verb = (
        ("move" if move else "copy")
        if src.is_s3 and dst.is_s3
        else ("upload" if dst.is_s3 else "download")
    )
    _refuse_onto_itself(src, dst, steps, "mv" if move else "cp")
    if dry_run:
        for step in steps:
            click.echo(f"(dryrun) {verb}: {_url(src, step.key)} to {_url(dst, step.dest_key)}")
        return
    started = time.perf_counter()
    done = _run(src, dst, steps, show=not (quiet or no_progress or as_json), single=not recursive)
    if move:
        _delete_sources(src, [s.key for s in steps if s.key in done])
    _report(list(done.values()), time.perf_counter() - started, as_json, quiet, move)


def _refuse_onto_itself(src: Location, dst: Location, steps: list[Step], verb: str) -> None:
    """A copy or move of an object onto itself (as 'aws s3' refuses it): a move would
    then delete the only copy. Nor onto another of its sources (a folder into its own
    subfolder): that source would be overwritten before it is copied, and a move would
    then delete the copy made there."""
    if src.store.url.rstrip("/") != dst.store.url.rstrip("/"):
        return
    same = [s.key for s in steps if s.key == s.dest_key]
    if same:
        raise ConfigError(
            f"Cannot {verb} {same[0]} onto itself.", "Give a destination other than the source."
        )
    sources = {s.key for s in steps}
    onto = [s for s in steps if s.dest_key in sources]
    if onto:
        raise ConfigError(
            f"Cannot {verb} {onto[0].key} to {onto[0].dest_key}: that key is also a source "
            f"of this {verb}, and would be overwritten before it is copied.",
            "Give a destination folder that neither holds the source nor lies inside it.",
        )


def _source_key(src: Location, key_file: Path | None, plain: bool) -> Location:
    """The source as its own SSE-C key (or none) reads it; the destination keeps yours."""
    from dataclasses import replace

    from ferry.storage.s3 import S3Store, SseCKey

    if not (key_file or plain):
        return src
    if not isinstance(src.store, S3Store):
        raise ConfigError(
            "--source-key-file and --source-plain apply to an s3:// source.",
            "Drop them for a local source.",
        )
    key = SseCKey.from_file(key_file) if key_file and not plain else None
    store = S3Store(src.store.url, replace(src.store.options, sse_c=key))
    return Location(store, src.key, src.url)


def _url(where: Location, key: str) -> str:
    from ferry.storage.local import LocalStore

    if isinstance(where.store, LocalStore):
        return str(where.store.path_of(key))
    return f"s3://{where.url[5:].split('/', 1)[0]}/{key}"


def _one(
    src: Location, dst: Location, source: str, dest: str
) -> tuple[Location, Location, list[Step]]:
    if not src.is_s3 and not src.key:
        raise ConfigError(f"{source} is a folder.", "Copy folders with -r.")
    name = src.key.rsplit("/", 1)[-1]
    if not name:
        raise ConfigError(f"{source} names a prefix, not an object.", "Copy prefixes with -r.")
    if dst.is_s3:
        key = dst.key + name if (not dst.key or dst.key.endswith("/")) else dst.key
        return src, dst, [Step(src.key, key)]
    target = Path(dest).expanduser()
    if target.is_dir() or dest.endswith(("/", os.sep)):
        target = target / name
    return src, _local(target.parent, dest), [Step(src.key, target.name)]


def _tree(
    src: Location, dst: Location, source: str, dest: str, filters: Any
) -> tuple[Location, Location, list[Step]]:
    from ferry.storage.transfer import tree_keys

    if not src.is_s3:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{source} is not a folder.", "Give a folder to copy with -r.")
        prefix = ""
    else:
        prefix = src.key if not src.key or src.key.endswith("/") else src.key + "/"
    if not dst.is_s3:
        dst = _local(Path(dest).expanduser(), dest)
    found = tree_keys(src.store, prefix, filters)
    steps = [Step(i.key, join_key(dst.key, i.key[len(prefix) :]), i) for i in found]
    return src, dst, steps


def _local(folder: Path, url: str) -> Location:
    from ferry.storage.local import LocalStore

    return Location(LocalStore(folder), "", url)


def _run(
    src: Location, dst: Location, steps: list[Step], *, show: bool, single: bool
) -> dict[str, ObjectInfo]:
    from ferry.storage.batch import run_collect

    journal = _journal() if dst.is_s3 and not src.is_s3 else None
    if journal is not None:
        journal.clean_up(dst.store)  # uploads a killed 'ferry cp' left: invisible, billed
    remote = src.store if src.is_s3 else dst.store
    workers = remote.concurrency if isinstance(remote, Concurrent) else 32
    with _progress(show, single, src, steps) as (tick, bytes_moved):
        calls = {s.key: partial(_copy, src, dst, s, bytes_moved, journal) for s in steps}
        done, failures = run_collect(calls, workers, on_done=tick)
    if len(failures) == 1 and len(steps) == 1:
        raise failures[0][1]  # one file: its own error, with its own exit code
    if failures:
        raise MultiError("Copying", failures)
    return done


def _copy(
    src: Location,
    dst: Location,
    step: Step,
    progress: Callable[[int], None] | None,
    journal: UploadJournal | None,
) -> ObjectInfo:
    """One object; a large upload is noted in the journal while it runs."""
    from ferry.storage.local import LocalStore
    from ferry.storage.s3 import S3Options, S3Store
    from ferry.storage.transfer import copy_object

    copy = partial(copy_object, src.store, step.key, dst.store, step.dest_key, step.info, progress)
    if journal is None or not isinstance(src.store, LocalStore):
        return copy()
    path = src.store.path_of(step.key)
    options = dst.store.options if isinstance(dst.store, S3Store) else S3Options()
    if not path.is_file() or path.stat().st_size <= options.multipart_threshold:
        return copy()
    with journal.uploading(dst.store, step.dest_key):
        return copy()


def _journal() -> UploadJournal:
    import platformdirs

    from ferry.storage.journal import UploadJournal

    return UploadJournal(Path(platformdirs.user_state_dir("ferry")) / "uploads")


@contextmanager
def _progress(
    show: bool, single: bool, src: Location, steps: list[Step]
) -> Iterator[tuple[Callable[[str, ObjectInfo], None] | None, Callable[[int], None] | None]]:
    """On a terminal: one file's bytes, rate and time left, or a tree's files and bytes."""
    if not (show and is_terminal()):
        yield None, None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    total = _size(src, steps[0]) if single and steps else None
    label = steps[0].key.rsplit("/", 1)[-1] if single and steps else "{task.fields[files]} files"
    columns = (
        TextColumn(label),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("copy", total=total, files=0)

        def tick(_key: str, info: ObjectInfo) -> None:
            progress.update(task, files=progress.tasks[0].fields["files"] + 1)
            if not single:
                progress.update(task, advance=info.size)

        def moved(count: int) -> None:
            progress.update(task, advance=count)

        yield tick, moved if single else None


def _size(src: Location, step: Step) -> int | None:
    if step.info is not None:
        return step.info.size
    try:
        return src.store.head(step.key).size
    except Exception:  # only a progress bar's total: the copy reports real errors
        return None


def _delete_sources(src: Location, keys: list[str]) -> None:
    """A move deletes exactly the sources it copied, once every copy succeeded."""
    src.store.delete(keys)


def _report(
    results: list[ObjectInfo], seconds: float, as_json: bool, quiet: bool, move: bool
) -> None:
    total = sum(r.size for r in results)
    rate = total / seconds if seconds > 0 else 0.0
    if as_json:
        emit_json(
            {
                "files": len(results),
                "bytes": total,
                "seconds": round(seconds, 3),
                "bytes_per_second": round(rate),
            }
        )
    elif not quiet:
        click.echo(
            f"{'moved' if move else 'copied'} {len(results)} file(s), {human_size(total)} in "
            f"{seconds:.2f} s ({human_size(rate)}/s)"
        )


COMMANDS = (cp, mv)
