"""``ferry models ls|show|download|load-test`` and ``ferry objects ls|get|rm``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ferry.cli.output import emit_json, human_size, is_terminal

__all__ = ["models", "objects"]


def _model_store(obj: dict[str, Any], root: str) -> Any:
    from ferry.config import load_settings
    from ferry.models import ModelStore

    return ModelStore(root, settings=load_settings(obj))


@click.group()
def models() -> None:
    """Browse a model store (ROOT: s3://bucket/prefix or a folder)."""


@models.command("ls")
@click.argument("root")
@click.argument("domain", required=False)
@click.option("--state", help="Only models in this state (e.g. production).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def models_ls(
    obj: dict[str, Any], root: str, domain: str | None, state: str | None, as_json: bool
) -> None:
    """List the domains of ROOT, or DOMAIN's models (newest first)."""
    store = _model_store(obj, root)
    items = store.list_models(domain, state) if domain else store.list_domains()
    if as_json:
        emit_json(items)
    else:
        for item in items:
            click.echo(item)


@models.command("show")
@click.argument("root")
@click.argument("domain")
@click.argument("model_id", required=False)
@click.pass_obj
def models_show(obj: dict[str, Any], root: str, domain: str, model_id: str | None) -> None:
    """A model's record (the latest when MODEL_ID is omitted)."""
    emit_json(_model_store(obj, root).get_model_info(domain, model_id))


@models.command("download")
@click.argument("root")
@click.argument("domain")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--model-id", help="A version (default: the latest).")
@click.pass_obj
def models_download(
    obj: dict[str, Any], root: str, domain: str, target: Path, model_id: str | None
) -> None:
    """Unpack a model's files into TARGET."""
    folder = _model_store(obj, root).download(target, domain, model_id)
    click.echo(f"downloaded to {folder}")


@models.command("load-test")
@click.argument("root")
@click.argument("domain")
@click.option("--model-id", help="A version (default: the latest).")
@click.pass_obj
def models_load_test(obj: dict[str, Any], root: str, domain: str, model_id: str | None) -> None:
    """Load a model as a program would, and say what came back and how long it took."""
    started = time.perf_counter()
    model = _model_store(obj, root).load(domain, model_id)
    click.echo(
        f"loaded {type(model).__module__}.{type(model).__qualname__} in "
        f"{time.perf_counter() - started:.2f} s"
    )


@click.group()
def objects() -> None:
    """Objects stored with s3store (PATH: --path, FERRY_PATH or ferry.toml)."""


def _object_store(obj: dict[str, Any], path: str | None) -> Any:
    from ferry.config import load_settings
    from ferry.objects.store import ObjectStore, _default_path

    settings = load_settings(obj)
    return ObjectStore(_default_path(path, settings), settings)


@objects.command("ls")
@click.argument("prefix", default="")
@click.option("--path", help="Where the objects live (default: FERRY_PATH).")
@click.option("-H", "--human-readable", "human", is_flag=True, help="Sizes as KiB, MiB, ...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def objects_ls(
    obj: dict[str, Any], prefix: str, path: str | None, human: bool, as_json: bool
) -> None:
    """List stored objects (like s3cmd ls -H)."""
    infos = _object_store(obj, path).ls(prefix)
    if as_json:
        emit_json([{"key": i.key, "size": i.size, "mtime": i.mtime.isoformat()} for i in infos])
        return
    for info in infos:
        size = human_size(info.size) if human else str(info.size)
        click.echo(f"{info.mtime:%Y-%m-%d %H:%M:%S} {size:>10} {info.key}")


@objects.command("get")
@click.argument("key")
@click.option("--path", help="Where the objects live (default: FERRY_PATH).")
@click.pass_obj
def objects_get(obj: dict[str, Any], key: str, path: str | None) -> None:
    """Read an object and show it (a DataFrame's head, a value's repr)."""
    value = _object_store(obj, path).read(key)
    if is_terminal():
        from rich.console import Console

        Console().print(value)
    else:
        click.echo(repr(value))


@objects.command("rm")
@click.argument("key")
@click.option("--path", help="Where the objects live (default: FERRY_PATH).")
@click.pass_obj
def objects_rm(obj: dict[str, Any], key: str, path: str | None) -> None:
    """Delete an object."""
    store = _object_store(obj, path)
    if not store.exists(key):
        from ferry.errors import NotFoundError

        raise NotFoundError(f"No object at {store.url(key)}.", "Check the key (ferry objects ls).")
    store.delete(key)
    click.echo(f"deleted {store.url(key)}")
