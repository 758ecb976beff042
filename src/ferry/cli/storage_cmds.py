"""``ferry ls``, ``ferry cp`` and ``ferry rm``: objects in S3 (or on disk) by URL."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ferry.cli.output import emit_json, human_size, is_terminal
from ferry.config import load_settings
from ferry.errors import ConfigError, NotFoundError
from ferry.storage.base import Concurrent, ObjectInfo, Store

__all__ = ["COMMANDS"]


@dataclass(frozen=True)
class Location:
    """A URL split into the store that holds it and the key (or prefix) inside that store."""

    store: Store
    key: str
    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")


def locate(url: str, overrides: dict[str, Any], *, must_exist: bool = False) -> Location:
    """Where ``url`` points: an ``s3://`` URL, or a local path (which, with ``must_exist``,
    must be there: ``ferry ls demo`` most likely meant ``s3://demo``)."""
    if url.startswith("s3://"):
        from ferry.storage import open_store
        from ferry.storage.names import parse_s3_url

        bucket, _ = parse_s3_url(url)
        key = url[5:].partition("/")[2]
        return Location(open_store(f"s3://{bucket}", settings=load_settings(overrides)), key, url)
    if "://" in url:
        raise ConfigError(
            f"{url!r} is neither an s3:// URL nor a local path.", "Use s3://bucket/key or a path."
        )
    from ferry.storage.local import LocalStore

    path = Path(url).expanduser().absolute()
    if must_exist and not path.exists():
        raise NotFoundError(
            f"{url} is neither an s3:// URL nor an existing local file or folder.",
            f"For a bucket, write s3://{url}; for a local folder, check the path.",
        )
    if path.is_dir():
        return Location(LocalStore(path), "", url)
    return Location(LocalStore(path.parent), path.name, url)


def folder_objects(store: Store, key: str) -> list[ObjectInfo]:
    """The objects a recursive command means by ``key``, as ``aws s3`` does: a key ending
    in ``/`` (or none) is that folder; ``runs/run-1`` is the object ``runs/run-1`` and the
    folder ``runs/run-1/`` - never ``runs/run-10/...``."""
    if not key or key.endswith("/"):
        return list(store.list(key))
    found = list(store.list(key + "/"))
    with suppress(NotFoundError):
        found.insert(0, store.head(key))
    return found


@click.command("ls")
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="List every object below the prefix.")
@click.option("-H", "--human-readable", "human", is_flag=True, help="Sizes as KiB, MiB, ...")
@click.option("--summarize", is_flag=True, help="Print the number of objects and total size.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def ls(
    obj: dict[str, Any], url: str, recursive: bool, human: bool, summarize: bool, as_json: bool
) -> None:
    """List objects like 'aws s3 ls': s3://bucket/prefix or a local folder."""
    where = locate(url, obj, must_exist=True)
    if recursive:
        prefixes, objects = [], folder_objects(where.store, where.key)
    else:
        listing = where.store.ls(where.key)
        prefixes, objects = listing.prefixes, listing.objects
    if where.is_s3 and where.key and not (prefixes or objects):
        raise NotFoundError(
            f"Nothing at {url}.", "Check the bucket and prefix: ferry ls s3://BUCKET/"
        )
    if as_json:
        emit_json({"prefixes": prefixes, "objects": [_info_json(o) for o in objects]})
        return
    for prefix in prefixes:
        click.echo(f"{'PRE':>30} {prefix.rsplit('/', 2)[-2] + '/' if not recursive else prefix}")
    for info in objects:
        size = human_size(info.size) if human else str(info.size)
        name = info.key if recursive else info.key.rsplit("/", 1)[-1]
        click.echo(f"{info.mtime:%Y-%m-%d %H:%M:%S} {size:>10} {name}")
    if summarize:
        total = sum(o.size for o in objects)
        click.echo(
            f"\nTotal Objects: {len(objects)}\n   Total Size: "
            f"{human_size(total) if human else total}"
        )


def _info_json(info: ObjectInfo) -> dict[str, Any]:
    return {
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "mtime": info.mtime.isoformat(),
        "checksum": info.checksum,
    }


@click.command("cp")
@click.argument("source")
@click.argument("dest")
@click.option("-r", "--recursive", is_flag=True, help="Copy a folder or a whole prefix.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_obj
def cp(obj: dict[str, Any], source: str, dest: str, recursive: bool, as_json: bool) -> None:
    """Copy a file or (with -r) a folder between the local disk and S3."""
    src, dst = locate(source, obj), locate(dest, obj)
    if not (src.is_s3 or dst.is_s3):
        raise ConfigError("Both locations are local.", "Use the system's cp for that.")
    started = time.perf_counter()
    if recursive:
        results = _copy_tree(src, dst, source, dest)
    else:
        results = [_copy_one(src, dst, source, dest)]
    _report(results, time.perf_counter() - started, as_json)


def _copy_one(src: Location, dst: Location, source: str, dest: str) -> ObjectInfo:
    if not src.is_s3 and not src.key:
        raise ConfigError(f"{source} is a folder.", "Copy folders with -r.")
    name = src.key.rsplit("/", 1)[-1]
    if not name:
        raise ConfigError(f"{source} names a prefix, not an object.", "Copy prefixes with -r.")
    if dst.is_s3:
        key = dst.key + name if (not dst.key or dst.key.endswith("/")) else dst.key
        _clear_killed_upload(dst.store, key, Path(source).expanduser() if not src.is_s3 else None)
        if src.is_s3:
            with tempfile.TemporaryDirectory() as tmp:
                src.store.get_file(src.key, Path(tmp, name))
                return dst.store.put_file(key, Path(tmp, name))
        return dst.store.put_file(key, Path(source).expanduser())
    target = Path(dest).expanduser()
    if target.is_dir() or dest.endswith("/"):
        target = target / name
    return src.store.get_file(src.key, target)


def _clear_killed_upload(store: Store, key: str, path: Path | None) -> None:
    """A ``ferry cp`` of a large file killed mid-upload leaves its multipart upload behind
    (invisible, billed): the next copy to that key aborts it first."""
    from ferry.storage.base import AbortsUploads
    from ferry.storage.s3 import S3Options

    threshold = S3Options.multipart_threshold
    large = path is None or (path.is_file() and path.stat().st_size > threshold)
    if large and isinstance(store, AbortsUploads):
        store.abort_incomplete_uploads(key, exact=True)


def _copy_tree(src: Location, dst: Location, source: str, dest: str) -> list[ObjectInfo]:
    from ferry.storage.batch import download_tree, upload_tree

    if src.is_s3 and dst.is_s3:
        raise ConfigError(
            "Recursive S3-to-S3 copies are not supported yet.",
            "Copy to a local folder, then up again.",
        )
    remote = src.store if src.is_s3 else dst.store
    workers = remote.concurrency if isinstance(remote, Concurrent) else 32
    if dst.is_s3:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{source} is not a folder.", "Give a folder to copy with -r.")
        with _progress("upload") as tick:
            done = upload_tree(dst.store, folder, dst.key, workers=workers, on_done=tick)
    else:
        prefix = src.key if not src.key or src.key.endswith("/") else src.key + "/"
        with _progress("download") as tick:
            done = download_tree(
                src.store, prefix, Path(dest).expanduser(), workers=workers, on_done=tick
            )
    return list(done.values())


@contextmanager
def _progress(verb: str) -> Iterator[Callable[[str, ObjectInfo], None] | None]:
    """A live file/byte counter on a terminal; nothing when piped."""
    if not is_terminal():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn(f"{verb} {{task.fields[files]}} files"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(verb, total=None, files=0)

        def tick(_key: str, info: ObjectInfo) -> None:
            files = progress.tasks[0].fields["files"] + 1
            progress.update(task, advance=info.size, files=files)

        yield tick


def _report(results: list[ObjectInfo], seconds: float, as_json: bool) -> None:
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
    else:
        click.echo(
            f"copied {len(results)} file(s), {human_size(total)} in {seconds:.2f} s "
            f"({human_size(rate)}/s)"
        )


@click.command("rm")
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Delete every object below the prefix.")
@click.option(
    "--dryrun", "--dry-run", is_flag=True, help="List what would be deleted; delete nothing."
)
@click.option(
    "--incomplete",
    is_flag=True,
    help="Abort the unfinished multipart uploads below the prefix (a killed upload's parts).",
)
@click.pass_obj
def rm(obj: dict[str, Any], url: str, recursive: bool, dryrun: bool, incomplete: bool) -> None:
    """Delete an object, or (with -r) the folder URL names: s3://b/runs/run-1 is the object
    runs/run-1 and everything below runs/run-1/, never runs/run-10/."""
    where = locate(url, obj)
    if not where.is_s3:
        raise ConfigError(f"{url} is local.", "Use the system's rm for local files.")
    if incomplete:
        return _abort_incomplete(where, url, dryrun)
    if recursive:
        keys = [info.key for info in folder_objects(where.store, where.key)]
        if not keys:
            raise NotFoundError(f"Nothing at {url} to delete.", "Check the prefix: ferry ls -r URL")
    else:
        where.store.head(where.key)  # a clear 'not found' rather than a silent no-op
        keys = [where.key]
    bucket = url[5:].split("/", 1)[0]
    for key in keys:
        click.echo(f"{'(dryrun) ' if dryrun else ''}delete: s3://{bucket}/{key}")
    if not dryrun:
        where.store.delete(keys)
    click.echo(f"{'would delete' if dryrun else 'deleted'} {len(keys)} object(s) from {url}")


def _abort_incomplete(where: Location, url: str, dryrun: bool) -> None:
    from ferry.storage.base import AbortsUploads

    store = where.store
    if not isinstance(store, AbortsUploads):
        raise ConfigError(f"{url} has no multipart uploads.", "Use an s3:// URL.")
    found = store.list_incomplete_uploads(where.key)
    bucket = url[5:].split("/", 1)[0]
    for key, upload_id in found:
        click.echo(f"{'(dryrun) ' if dryrun else ''}abort: s3://{bucket}/{key} ({upload_id})")
    if not dryrun:
        store.abort_incomplete_uploads(where.key)
    verb = "would abort" if dryrun else "aborted"
    click.echo(f"{verb} {len(found)} unfinished upload(s) below {url}")


COMMANDS = (ls, cp, rm)
