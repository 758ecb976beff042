"""``ferry ls``, ``rm``, ``cat``, ``presign``, ``mb`` and ``rb``: objects and buckets by URL."""

from __future__ import annotations

import contextlib
from typing import Any

import click

from ferry.cli.locations import Location, folder_objects, locate
from ferry.cli.options import (
    FilteredCommand,
    dry_run_option,
    filter_options,
    filters_of,
    quiet_options,
)
from ferry.cli.output import emit_json, human_size
from ferry.errors import ConfigError, MultiError, NotFoundError
from ferry.storage.base import ObjectInfo

__all__ = ["COMMANDS"]


@click.command("ls", cls=FilteredCommand)
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="List every object below the prefix.")
@click.option("-H", "--human-readable", "human", is_flag=True, help="Sizes as KiB, MiB, ...")
@click.option("--summarize", is_flag=True, help="Print the number of objects and total size.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@filter_options
@click.pass_context
def ls(
    ctx: click.Context,
    /,
    url: str,
    recursive: bool,
    human: bool,
    summarize: bool,
    as_json: bool,
    **_filters: Any,
) -> None:
    """List objects like 'aws s3 ls': s3://bucket/prefix or a local folder."""
    where = locate(url, ctx.obj, must_exist=True)
    if recursive:
        prefixes, objects = [], folder_objects(where.store, where.key, filters_of(ctx))
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
    }


@click.command("rm", cls=FilteredCommand)
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Delete every object below the prefix.")
@dry_run_option
@click.option(
    "--incomplete",
    is_flag=True,
    help="Abort the unfinished multipart uploads below the prefix (a killed upload's parts).",
)
@quiet_options
@filter_options
@click.pass_context
def rm(
    ctx: click.Context,
    /,
    url: str,
    recursive: bool,
    dry_run: bool,
    incomplete: bool,
    quiet: bool,
    **_options: Any,
) -> None:
    """Delete an object, or (with -r) the folder URL names: s3://b/runs/run-1 is the object
    runs/run-1 and everything below runs/run-1/, never runs/run-10/."""
    dryrun = dry_run
    where = locate(url, ctx.obj)
    if not where.is_s3:
        raise ConfigError(f"{url} is local.", "Use the system's rm for local files.")
    if incomplete:
        return _abort_incomplete(where, url, dryrun)
    if recursive:
        found = folder_objects(where.store, where.key, filters_of(ctx), markers=True)
        keys = [info.key for info in found]
        if not keys:
            raise NotFoundError(f"Nothing at {url} to delete.", "Check the prefix: ferry ls -r URL")
    else:
        _must_exist(where)
        keys = [where.key]
    bucket = url[5:].split("/", 1)[0]
    failed: set[str] = set()
    refused: MultiError | None = None
    if not dryrun:
        try:
            where.store.delete(keys)
        except MultiError as exc:  # the others are gone: say which stayed, after the list
            failed = {name for name, _ in exc.failures}
            refused = exc
    for key in keys:
        if (dryrun or not quiet) and key not in failed:
            click.echo(f"{'(dryrun) ' if dryrun else ''}delete: s3://{bucket}/{key}")
    if not dryrun and refused is not None:
        raise refused
    if not quiet:
        click.echo(f"{'would delete' if dryrun else 'deleted'} {len(keys)} object(s) from {url}")


def _must_exist(where: Location) -> None:
    """A clear 'not found' rather than a silent no-op; an object the configured SSE-C key
    cannot read is still there (deleting it needs no key)."""
    from ferry.errors import EncryptionError

    with contextlib.suppress(EncryptionError):
        where.store.head(where.key)


def _abort_incomplete(where: Location, url: str, dryrun: bool) -> None:
    from ferry.storage.base import AbortsUploads

    store = where.store
    if not isinstance(store, AbortsUploads):
        raise ConfigError(f"{url} has no multipart uploads.", "Use an s3:// URL.")
    key = where.key
    found = [  # the folder rule of rm -r: runs/run-1 is never runs/run-10
        (k, upload_id)
        for k, upload_id in store.list_incomplete_uploads(key)
        if not key or key.endswith("/") or k == key or k.startswith(key + "/")
    ]
    bucket = url[5:].split("/", 1)[0]
    for k, upload_id in found:
        click.echo(f"{'(dryrun) ' if dryrun else ''}abort: s3://{bucket}/{k} ({upload_id})")
    if not dryrun and found:
        store.abort_incomplete_uploads(key, only={k for k, _ in found})
    verb = "would abort" if dryrun else "aborted"
    click.echo(f"{verb} {len(found)} unfinished upload(s) below {url}")


@click.command("cat")
@click.argument("url")
@click.pass_obj
def cat(obj: dict[str, Any], url: str) -> None:
    """Write an object's bytes to standard output (as 'aws s3 cp s3://... -')."""
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    where = _s3(url, obj)
    with tempfile.TemporaryDirectory() as scratch:  # streamed through disk: any size
        path = Path(scratch, "object")
        where.store.get_file(where.key, path)
        with open(path, "rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer)
        sys.stdout.buffer.flush()


@click.command("presign")
@click.argument("url")
@click.option(
    "--expires-in", default=3600, show_default=True, help="Seconds the URL works (max 604800)."
)
@click.pass_obj
def presign(obj: dict[str, Any], url: str, expires_in: int) -> None:
    """Print a URL that lets anyone GET the object, for a while, without credentials."""
    where = _s3(url, obj)
    where.store.head(where.key)  # a clear 'not found' rather than a URL to nothing
    click.echo(_s3_store(where).presign(where.key, expires_in))


@click.command("mb")
@click.argument("url")
@click.pass_obj
def mb(obj: dict[str, Any], url: str) -> None:
    """Make a bucket (in the configured region)."""
    where = _s3(url, obj, bucket_only=True)
    _s3_store(where).make_bucket()
    click.echo(f"make_bucket: {where.url}")


@click.command("rb")
@click.argument("url")
@click.option("--force", is_flag=True, help="Delete every object in it first.")
@click.pass_obj
def rb(obj: dict[str, Any], url: str, force: bool) -> None:
    """Remove a bucket (empty, or emptied first with --force)."""
    where = _s3(url, obj, bucket_only=True)
    store = _s3_store(where)
    if force:
        keys = [info.key for info in store.list("")]  # markers and odd keys included
        store.abort_incomplete_uploads("")
        store.delete(keys)
        click.echo(f"deleted {len(keys)} object(s) from {where.url}")
    store.remove_bucket()
    click.echo(f"remove_bucket: {where.url}")


def _s3(url: str, obj: dict[str, Any], *, bucket_only: bool = False) -> Location:
    if not url.startswith("s3://"):
        raise ConfigError(f"{url} is not an s3:// URL.", "Write it as s3://bucket/key.")
    where = locate(url, obj)
    if bucket_only and where.key.strip("/"):
        raise ConfigError(
            f"{url} names a key, not a bucket.",
            f"Give the bucket alone: s3://{url[5:].split('/')[0]}",
        )
    if not bucket_only and not where.key:
        raise ConfigError(f"{url} names no object.", "Give the object's key: s3://bucket/key.")
    return where


def _s3_store(where: Location) -> Any:
    from ferry.storage.s3 import S3Store

    assert isinstance(where.store, S3Store)
    return where.store


COMMANDS = (ls, rm, cat, presign, mb, rb)
