"""A model store (seed 003): domains, ordered immutable versions, states, on any Store.

::

    <root>/domains/<domain>/<model_id>/model.tar     the model file(s) and extra files
    <root>/domains/<domain>/<model_id>/model.json    the record; written last, create-only
    <root>/states/<state>.json                       a state (e.g. "production") exists
    <root>/domains/<domain>/states/<state>/<model_id>   a model is in that state

Model ids are ``<UTC time>-<8 hex>``, so their order is the order of uploads. The archive is
uploaded first and the record last, create-only: a version becomes visible only when both
are there, two uploads never claim the same id, and a failed upload deletes its archive.
The archive is a plain tar: gzip would spend more time than it saves on model files.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.config import Settings, load_settings
from ferry.errors import ConfigError, FerryError, NotFoundError
from ferry.models.flavours import detect, flavour_named, library_versions
from ferry.storage import Store, open_store
from ferry.storage.names import check_bucket_name

__all__ = ["ModelStore"]

ARCHIVE, RECORD = "model.tar", "model.json"


@dataclass(frozen=True)
class _Paths:
    domain: str
    model_id: str

    @property
    def folder(self) -> str:
        return f"domains/{self.domain}/{self.model_id}"


class ModelStore:
    """Models by domain, with versions and states, on S3, local disk or any ferry store.

    Args:
        url: where the store lives (``s3://bucket/prefix``, a folder, ``memory://``).
        store: a store to use directly instead of ``url``.
        settings: ferry settings for S3 (endpoint, region, SSE-C key, ...).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        store: Store | None = None,
        settings: Settings | None = None,
    ) -> None:
        if store is None:
            if url is None:
                raise ConfigError(
                    "ModelStore needs a url or a store.",
                    "Pass ModelStore('s3://bucket/prefix') or a local folder.",
                )
            store = open_store(url, settings=settings or load_settings())
        self.store = store

    @classmethod
    def from_aws_s3(
        cls,
        bucket_name: str,
        region: str | None = None,
        root_prefix: str | None = None,
        **settings: Any,
    ) -> ModelStore:
        """A store in an existing S3 bucket; checks now that the bucket can be used.

        Raises a ferry error that says what to fix: bucket name with ``s3://``, a region
        given as a place name, no credentials, bucket missing or not accessible, endpoint
        unreachable.
        """
        from ferry.storage.s3 import S3Options, S3Store

        check_bucket_name(bucket_name)
        options = S3Options.from_settings(load_settings({"region": region, **settings}))
        prefix = (root_prefix or "").strip("/")
        store = S3Store(f"s3://{bucket_name}/{prefix}".rstrip("/"), options)
        store.check_bucket()
        return cls(store=store)

    @classmethod
    def from_file_system(
        cls, root_directory: str | Path, create_directory: bool = True
    ) -> ModelStore:
        """A store in a local folder (created unless ``create_directory`` is False)."""
        root = Path(root_directory).expanduser()
        if not root.is_dir():
            if not create_directory:
                raise NotFoundError(
                    f"Model store folder {root} does not exist.",
                    "Create it, or pass create_directory=True.",
                )
            root.mkdir(parents=True)
        return cls(str(root))

    # -- uploading ---------------------------------------------------------------------

    def upload(
        self,
        domain: str,
        model: Any = None,
        *,
        extra_files: Iterable[str | Path] = (),
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a new version of ``domain``'s model; its id.

        ``model`` is saved by its flavour (scikit-learn, XGBoost, LightGBM, PyTorch,
        anything joblib or pickle can save); ``extra_files`` go in the same archive;
        ``extra_metadata`` (numpy values allowed) is kept in the record.
        """
        _check_name(domain, "domain")
        if model is None and not extra_files:
            raise ConfigError("Nothing to upload.", "Pass model=... and/or extra_files=[...].")
        paths = _Paths(domain, _new_id())
        archive_key, record_key = f"{paths.folder}/{ARCHIVE}", f"{paths.folder}/{RECORD}"
        try:
            with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
                record = self._record(paths, model, Path(tmp), list(extra_files), extra_metadata)
                # The id is new and random, so the archive needs no condition; the record,
                # written last and create-only, is what makes the version exist.
                self.store.put_file(archive_key, Path(tmp) / ARCHIVE)
            self.store.put(record_key, _json(record), mode="create")
        except BaseException:
            # No orphan archive; but never delete under a record that did get written
            # (a failure reported after the store applied the write).
            with contextlib.suppress(FerryError):
                if not self.store.exists(record_key):
                    self.store.delete([archive_key])
            raise
        return paths.model_id

    def _record(
        self,
        paths: _Paths,
        model: Any,
        tmp: Path,
        extra_files: list[str | Path],
        extra_metadata: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        contents = tmp / "contents"
        contents.mkdir()
        record: dict[str, Any] = {
            "domain": paths.domain,
            "model_id": paths.model_id,
            "created_at": datetime.now(UTC).isoformat(),
            "flavour": None,
            "model_file": None,
            "model_type": None,
            "versions": {},
            "extra_files": [],
            "git_commit": _git_commit(),
            "extra_metadata": dict(extra_metadata or {}),
        }
        if model is not None:
            flavour = detect(model)
            flavour.save(model, contents / flavour.file_name)
            record.update(
                flavour=flavour.name,
                model_file=flavour.file_name,
                model_type=f"{type(model).__module__}.{type(model).__qualname__}",
                versions=library_versions(flavour, model),
            )
        for extra in map(Path, extra_files):
            if not extra.is_file():
                raise NotFoundError(f"Extra file {extra} does not exist.", "Check the path.")
            target = contents / "extra" / extra.name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(extra.read_bytes())
            record["extra_files"].append(extra.name)
        with tarfile.open(tmp / ARCHIVE, "w") as archive:
            archive.add(contents, arcname=".")
        return record

    # -- reading -----------------------------------------------------------------------

    def list_domains(self) -> list[str]:
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.store.ls("domains/").prefixes)

    def list_models(self, domain: str, state_name: str | None = None) -> list[str]:
        """The domain's model ids, newest first (only those in ``state_name`` if given)."""
        if state_name is not None:
            self._check_state(state_name)
            prefix = f"domains/{domain}/states/{state_name}/"
            return sorted((i.key.rsplit("/", 1)[-1] for i in self.store.list(prefix)), reverse=True)
        ids = [
            i.key.split("/")[2]
            for i in self.store.list(f"domains/{domain}/")
            if i.key.endswith(f"/{RECORD}") and i.key.count("/") == 3
        ]
        return sorted(ids, reverse=True)

    def model_exists(self, domain: str, model_id: str) -> bool:
        return self.store.exists(f"{_Paths(domain, model_id).folder}/{RECORD}")

    def get_model_info(self, domain: str, model_id: str | None = None) -> dict[str, Any]:
        """The record of a model (the latest when ``model_id`` is None)."""
        model_id = model_id or self._latest(domain)
        try:
            data = self.store.get(f"{_Paths(domain, model_id).folder}/{RECORD}")
        except NotFoundError:
            raise self._missing(domain, model_id) from None
        record: dict[str, Any] = json.loads(data)
        return record

    def download(self, local_path: str | Path, domain: str, model_id: str | None = None) -> Path:
        """Unpack a model's files into ``local_path`` (created); the folder."""
        record = self.get_model_info(domain, model_id)
        target = Path(local_path).expanduser()
        target.mkdir(parents=True, exist_ok=True)
        paths = _Paths(domain, record["model_id"])
        with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
            archive = Path(tmp) / ARCHIVE
            self.store.get_file(f"{paths.folder}/{ARCHIVE}", archive)
            with tarfile.open(archive) as unpacked:
                unpacked.extractall(target, filter="data")
        (target / RECORD).write_bytes(_json(record))
        return target

    def load(self, domain: str, model_id: str | None = None) -> Any:
        """The model object itself, loaded by its flavour."""
        record = self.get_model_info(domain, model_id)
        if record["flavour"] is None:
            raise ConfigError(
                f"Model {record['model_id']} holds only extra files.", "Use download() to get them."
            )
        with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
            folder = self.download(tmp, domain, record["model_id"])
            return flavour_named(record["flavour"]).load(folder / record["model_file"])

    def _latest(self, domain: str) -> str:
        models = self.list_models(domain)
        if not models:
            domains = self.list_domains()
            raise NotFoundError(
                f"Domain {domain!r} has no models in {self.store.url}.",
                f"Domains here: {', '.join(domains) or 'none'}; upload one first.",
            )
        return models[0]

    def _missing(self, domain: str, model_id: str) -> NotFoundError:
        known = self.list_models(domain)[:5]
        return NotFoundError(
            f"No model {model_id!r} in domain {domain!r} at {self.store.url}.",
            f"Latest models there: {', '.join(known) or 'none'}.",
        )

    # -- states ------------------------------------------------------------------------

    def create_model_state(self, state_name: str) -> None:
        _check_name(state_name, "state")
        self.store.put(f"states/{state_name}.json", _json({"state_name": state_name}))

    def list_model_states(self) -> list[str]:
        return sorted(
            i.key.rsplit("/", 1)[-1].removesuffix(".json") for i in self.store.list("states/")
        )

    def set_model_state(self, domain: str, model_id: str, state_name: str) -> None:
        self._check_state(state_name)
        if not self.model_exists(domain, model_id):
            raise self._missing(domain, model_id)
        self.store.put(f"domains/{domain}/states/{state_name}/{model_id}", b"")

    def remove_model_state(self, domain: str, model_id: str, state_name: str) -> None:
        self._check_state(state_name)
        self.store.delete([f"domains/{domain}/states/{state_name}/{model_id}"])

    def _check_state(self, state_name: str) -> None:
        if not self.store.exists(f"states/{state_name}.json"):
            raise NotFoundError(
                f"There is no model state {state_name!r}.",
                f"Create it with create_model_state({state_name!r}); states: "
                f"{', '.join(self.list_model_states()) or 'none'}.",
            )

    # -- deleting ----------------------------------------------------------------------

    def delete_model(
        self,
        domain: str,
        model_id: str,
        *,
        skip_prompt: bool = False,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        """Delete a model version (record first, so it vanishes at once) and its states.

        Asks before deleting unless ``skip_prompt``; ``confirm`` replaces the question.
        """
        if not self.model_exists(domain, model_id):
            raise self._missing(domain, model_id)
        question = f"Delete model {model_id} of domain {domain!r}?"
        if not skip_prompt and not (confirm or _ask)(question):
            return
        folder = _Paths(domain, model_id).folder
        self.store.delete([f"{folder}/{RECORD}"])
        states = [
            i.key
            for state in self.list_model_states()
            for i in self.store.list(f"domains/{domain}/states/{state}/{model_id}")
        ]
        self.store.delete([f"{folder}/{ARCHIVE}", *states])


def _ask(question: str) -> bool:
    if not os.isatty(0):
        raise FerryError(
            f"{question} (no terminal to ask on)", "Pass skip_prompt=True to delete without asking."
        )
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


def _new_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(
            f"Invalid {what} name {name!r}.",
            "Use a name without '/', not starting with '.' (e.g. 'churn-model').",
        )


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, default=_plain).encode()


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, datetimes and paths in extra metadata, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
