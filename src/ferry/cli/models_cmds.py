"""``ferry models ls|show|upload|download|rm|state|load-test``, ``ferry objects ls|get|rm``,
and ``python -m ferry.models upload|download`` (modelstore's command line, same variables).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ferry.cli.output import emit_json, human_size, is_terminal
from ferry.errors import ConfigError

__all__ = ["models", "modelstore_main", "objects"]


def _model_store(obj: dict[str, Any], root: str) -> Any:
    """The store at ROOT; a local folder must exist (a typo should not start a new store)."""
    from ferry.config import load_settings
    from ferry.models import ModelStore

    if "://" not in root:
        return ModelStore.from_file_system(root)
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


@models.command("upload")
@click.argument("root")
@click.argument("domain")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--model-id", help="The new model's id (default: a new UUID).")
@click.option(
    "--extra",
    "extras",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A file or folder stored beside the model (repeatable).",
)
@click.option("--metadata", help="Extra metadata, a JSON object.")
@click.option("--json", "as_json", is_flag=True, help="Print the model's record as JSON.")
@click.pass_obj
def models_upload(
    obj: dict[str, Any],
    root: str,
    domain: str,
    model: Path,
    model_id: str | None,
    extras: tuple[Path, ...],
    metadata: str | None,
    as_json: bool,
) -> None:
    """Upload MODEL (a file or folder saved beforehand) to DOMAIN; prints the model id."""
    meta = _model_store(obj, root).upload(
        domain, model_id, model=model, extras=list(extras), extra_metadata=_json_object(metadata)
    )
    if as_json:
        emit_json(meta)
    else:
        click.echo(meta["model"]["model_id"])


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(
            f"--metadata {text!r} is not a JSON object.", """Pass e.g. '{"auc": 0.9}'."""
        )
    return value


@models.command("rm")
@click.argument("root")
@click.argument("domain")
@click.argument("model_id")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.pass_obj
def models_rm(obj: dict[str, Any], root: str, domain: str, model_id: str, yes: bool) -> None:
    """Delete a model (its record is kept as deleted, as modelstore does)."""
    _model_store(obj, root).delete_model(domain, model_id, skip_prompt=yes, confirm=_confirm())
    click.echo(f"deleted {domain}/{model_id}")


def _confirm() -> Callable[[str], bool]:
    """Ask on a terminal; without one, refuse and say how to go ahead."""
    if sys.stdin.isatty():
        return lambda question: click.confirm(question, default=False)

    def refuse(question: str) -> bool:
        raise ConfigError(f"{question} (no terminal to ask on)", "Pass --yes to go ahead.")

    return refuse


@models.group("state")
def models_state() -> None:
    """Model states (production, staging, ...): ls, create, set, unset, rm."""


@models_state.command("ls")
@click.argument("root")
@click.argument("domain", required=False)
@click.argument("model_id", required=False)
@click.pass_obj
def state_ls(obj: dict[str, Any], root: str, domain: str | None, model_id: str | None) -> None:
    """The states of ROOT, or those DOMAIN's MODEL_ID is in."""
    store = _model_store(obj, root)
    if domain and model_id:
        names = store.get_model_states(domain, model_id)
    elif domain:
        raise ConfigError(
            "Give MODEL_ID too, or neither.", "ferry models state ls ROOT [DOMAIN ID]"
        )
    else:
        names = store.list_model_states()
    for name in names:
        click.echo(name)


@models_state.command("create")
@click.argument("root")
@click.argument("state_name")
@click.pass_obj
def state_create(obj: dict[str, Any], root: str, state_name: str) -> None:
    """Create a state."""
    _model_store(obj, root).create_model_state(state_name)
    click.echo(f"created state {state_name}")


@models_state.command("set")
@click.argument("root")
@click.argument("domain")
@click.argument("model_id")
@click.argument("state_name")
@click.pass_obj
def state_set(obj: dict[str, Any], root: str, domain: str, model_id: str, state_name: str) -> None:
    """Put a model in a state."""
    _model_store(obj, root).set_model_state(domain, model_id, state_name)
    click.echo(f"{domain}/{model_id} is in {state_name}")


@models_state.command("unset")
@click.argument("root")
@click.argument("domain")
@click.argument("model_id")
@click.argument("state_name")
@click.pass_obj
def state_unset(
    obj: dict[str, Any], root: str, domain: str, model_id: str, state_name: str
) -> None:
    """Take a model out of a state."""
    _model_store(obj, root).remove_model_state(domain, model_id, state_name)
    click.echo(f"{domain}/{model_id} is not in {state_name}")


@models_state.command("rm")
@click.argument("root")
@click.argument("state_name")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.pass_obj
def state_rm(obj: dict[str, Any], root: str, state_name: str, yes: bool) -> None:
    """Delete a state and take every model out of it."""
    _model_store(obj, root).delete_model_state(state_name, skip_prompt=yes, confirm=_confirm())
    click.echo(f"deleted state {state_name}")


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


_MODELSTORE_HELP = """modelstore's command line, configured by modelstore's variables.

MODEL_STORE_STORAGE is aws-s3 (with MODEL_STORE_AWS_BUCKET, and optionally
MODEL_STORE_REGION and MODEL_STORE_AWS_ROOT_PREFIX) or filesystem (with
MODEL_STORE_ROOT_PREFIX)."""


def modelstore_main() -> None:
    """``python -m ferry.models``: modelstore's command line, from modelstore's variables.

    ``MODEL_STORE_STORAGE`` is ``aws-s3`` (``MODEL_STORE_AWS_BUCKET``, optional
    ``MODEL_STORE_REGION``, ``MODEL_STORE_AWS_ROOT_PREFIX``) or ``filesystem``
    (``MODEL_STORE_ROOT_PREFIX``).
    """
    from ferry.cli.group import FerryGroup

    group = FerryGroup("python -m ferry.models", help=_MODELSTORE_HELP)
    group.add_command(ms_upload)
    group.add_command(ms_download)
    group(prog_name="python -m ferry.models")


def _store_from_env() -> Any:
    from ferry.models import ModelStore

    kind = os.environ.get("MODEL_STORE_STORAGE")
    if kind == "aws-s3":
        return ModelStore.from_aws_s3()
    if kind == "filesystem":
        return ModelStore.from_file_system()
    raise ConfigError(
        f"MODEL_STORE_STORAGE is {kind!r}.",
        "Set it to aws-s3 (with MODEL_STORE_AWS_BUCKET) or filesystem (with "
        "MODEL_STORE_ROOT_PREFIX).",
    )


@click.command("upload")
@click.argument("domain")
@click.argument("model", type=click.Path(exists=True))
def ms_upload(domain: str, model: str) -> None:
    """Upload a model file to DOMAIN; prints its id on stdout."""
    model_id = _store_from_env().upload(domain, model=model)["model"]["model_id"]
    click.echo(f"Uploaded: {domain}={model_id}", err=True)
    click.echo(model_id)


@click.command("download")
@click.argument("domain")
@click.argument("model_id")
@click.argument("parent_dir", required=False)
def ms_download(domain: str, model_id: str, parent_dir: str | None) -> None:
    """Download a model into PARENT_DIR/DOMAIN/MODEL_ID (PARENT_DIR: the current folder)."""
    target = Path(parent_dir or ".") / domain / model_id
    folder = _store_from_env().download(target, domain, model_id)
    click.echo(f"Downloaded: {domain}={model_id} to {folder}", err=True)


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
