"""``ModelStore``: modelstore 0.0.81's API and bucket layout, with atomic, create-only uploads.

The layout is modelstore's (see :mod:`ferry.models.layout`), so either tool reads and adds
to a store the other wrote. What ferry changes is how it writes: the archive first, then
the model's record with a create-only write (the moment the version exists: two uploads
can never claim one id), then the domain's "latest" record. A failed or interrupted upload
deletes what it wrote, so nothing half-made stays visible or orphaned.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ferry.config import Settings, load_settings
from ferry.errors import AlreadyExistsError, ConfigError, FerryError, NotFoundError
from ferry.models import layout
from ferry.models.archive import ExtraFiles, extra_paths, pack, unpack
from ferry.models.exceptions import (
    DomainNotFoundException,
    ModelDeletedException,
    ModelExistsException,
    ModelNotFoundException,
)
from ferry.models.flavours import Flavour, detect, flavour_named, save
from ferry.models.metadata import (
    dataset,
    dumps,
    full_shape,
    new_record,
    plain_mapping,
    start_git_meta,
)
from ferry.models.records import Records
from ferry.models.states import StatesMixin, ask
from ferry.storage import Store, open_store
from ferry.storage.names import check_bucket_name

__all__ = ["ModelStore"]

# Keyword arguments of modelstore managers that ferry has no flavour for.
_OTHER_MANAGERS = {"explainer", "tokenizer", "config", "learner", "processor"}


class ModelStore(StatesMixin):
    """Models by domain, with versions and states, in modelstore's layout on S3 or disk.

    Args:
        url: where the store lives: ``s3://bucket/root_prefix``, a folder, ``memory://name``.
        store: a ferry store to use instead of ``url``.
        settings: ferry settings for S3 (endpoint, region, SSE-C key, storage class, ...).
        compresslevel: gzip level of the archives (0: stored, the fastest; up to 9).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        store: Store | None = None,
        settings: Settings | None = None,
        compresslevel: int = 0,
    ) -> None:
        if store is None:
            if url is None:
                raise ConfigError(
                    "ModelStore needs a url or a store.",
                    "Pass ModelStore('s3://bucket/prefix'), a folder, or use from_aws_s3().",
                )
            store = open_store(url, settings=settings or load_settings())
        self.store = store
        self.compresslevel = compresslevel
        self.records = Records(store)

    @classmethod
    def from_aws_s3(
        cls,
        bucket_name: str | None = None,
        region: str | None = None,
        root_prefix: str | None = None,
        *,
        compresslevel: int = 0,
        **settings: Any,
    ) -> ModelStore:
        """A store in an existing S3 bucket, checked now (one listing request).

        As in modelstore, ``MODEL_STORE_AWS_BUCKET``, ``MODEL_STORE_REGION`` and
        ``MODEL_STORE_AWS_ROOT_PREFIX`` fill in arguments left out. ``settings`` are ferry
        settings (``endpoint_url``, ``sse_c_key``, ``storage_class``, ``max_attempts``...).

        Raises a ferry error that says what to fix: ``s3://`` in the bucket name, a region
        given as a place name, no credentials, bucket missing or not accessible, endpoint
        unreachable.
        """
        bucket_name = bucket_name or _env("MODEL_STORE_AWS_BUCKET", "bucket_name")
        region = region or os.environ.get("MODEL_STORE_REGION")
        if root_prefix is None:
            root_prefix = os.environ.get("MODEL_STORE_AWS_ROOT_PREFIX", "")
        check_bucket_name(bucket_name)
        url = f"s3://{bucket_name}/{root_prefix.strip('/')}".rstrip("/")
        resolved = load_settings({"region": region, **settings})
        model_store = cls(url, settings=resolved, compresslevel=compresslevel)
        model_store.records.check()
        return model_store

    @classmethod
    def from_file_system(
        cls,
        root_directory: str | os.PathLike[str] | None = None,
        create_directory: bool = False,
        *,
        compresslevel: int = 0,
    ) -> ModelStore:
        """A store in a local folder (``MODEL_STORE_ROOT_PREFIX`` when none is given).

        The folder must exist unless ``create_directory`` is True (modelstore's default).
        """
        root = Path(root_directory or _env("MODEL_STORE_ROOT_PREFIX", "root_directory"))
        root = root.expanduser().absolute()
        if not root.exists():
            if not create_directory:
                raise NotFoundError(
                    f"Model store folder {root} does not exist.",
                    "Create it (mkdir), or pass create_directory=True.",
                )
            root.mkdir(parents=True)
        if not root.is_dir():
            raise ConfigError(f"Model store root {root} is not a folder.", "Pass a folder.")
        return cls(str(root), compresslevel=compresslevel)

    def __repr__(self) -> str:
        return f"ModelStore({self.store.url!r})"

    # -- domains -------------------------------------------------------------------------

    def list_domains(self) -> list[str]:
        """Every domain's name, the one with the latest upload first."""
        return [r["model"]["domain"] for r in self.records.read_folder(layout.domains_prefix())]

    def get_domain(self, domain: str) -> dict[str, Any]:
        """The domain's record: the record of its latest upload, as stored."""
        record = self.records.read(layout.domain_key(domain))
        if record is None:
            raise DomainNotFoundException(domain, self.list_domains())
        return record

    # -- models --------------------------------------------------------------------------

    def list_models(self, domain: str, state_name: str | None = None) -> list[str]:
        """The domain's model ids, newest first (only those in ``state_name`` if given).

        Raises ``DomainNotFoundException``, or ``ModelStateNotFoundError`` (a ValueError).
        """
        return [r["model"]["model_id"] for r in self.list_model_infos(domain, state_name)]

    def list_model_infos(self, domain: str, state_name: str | None = None) -> list[dict[str, Any]]:
        """Like :meth:`list_models`, but each model's record (as ``get_model_info``)."""
        if state_name is not None:
            self.require_state(state_name)
        self._require_domain(domain)
        records = self.records.read_folder(layout.versions_prefix(domain, state_name))
        return [full_shape(r) for r in records]

    def list_versions(self, domain: str, state_name: str | None = None) -> list[str]:
        """Deprecated name of :meth:`list_models` (as in modelstore)."""
        warnings.warn(
            "list_versions() is deprecated; use list_models()", DeprecationWarning, stacklevel=2
        )
        return self.list_models(domain, state_name)

    def model_exists(self, domain: str, model_id: str) -> bool:
        """Whether the domain has this model (False for a deleted one)."""
        return self.store.exists(layout.version_key(domain, model_id))

    def get_model_info(self, domain: str, model_id: str | None = None) -> dict[str, Any]:
        """A model's record in modelstore's shape (the latest model when ``model_id`` is None).

        Raises ``DomainNotFoundException``, ``ModelNotFoundException`` or
        ``ModelDeletedException``.
        """
        return full_shape(self._record(domain, model_id))

    def _record(self, domain: str, model_id: str | None) -> dict[str, Any]:
        model_id = model_id if model_id is not None else self._latest(domain)
        record = self.records.read(layout.version_key(domain, model_id))
        if record is None:
            raise self._missing(domain, model_id)
        return record

    def _latest(self, domain: str) -> str:
        """The domain's latest model (the newest remaining one if that was deleted)."""
        latest = str(self.get_domain(domain)["model"]["model_id"])
        if self.model_exists(domain, latest):
            return latest
        remaining = self.list_models(domain)
        if not remaining:
            raise ModelDeletedException(domain, latest)
        return remaining[0]

    def _missing(self, domain: str, model_id: str) -> FerryError:
        if not self.store.exists(layout.domain_key(domain)):
            return DomainNotFoundException(domain, self.list_domains())
        if self.store.exists(layout.version_key(domain, model_id, layout.DELETED)):
            return ModelDeletedException(domain, model_id)
        return ModelNotFoundException(domain, model_id, self.list_models(domain)[:5])

    def _require_domain(self, domain: str) -> None:
        if not self.store.exists(layout.domain_key(domain)):
            raise DomainNotFoundException(domain, self.list_domains())

    # -- uploading ---------------------------------------------------------------------

    def upload(
        self,
        domain: str,
        model_id: str | None = None,
        *,
        model: Any = None,
        extras: ExtraFiles = None,
        extra_files: ExtraFiles = None,
        extra_metadata: Mapping[str, Any] | None = None,
        X_train: Any = None,
        y_train: Any = None,
        optimizer: Any = None,
        **unknown: Any,
    ) -> dict[str, Any]:
        """Store a new model in ``domain``; its record (``meta["model"]["model_id"]``, ...).

        Args:
            domain: the group of models (created by its first upload).
            model_id: the new model's id (default: a new UUID); an id the domain already
                has raises ``ModelExistsException``; a deleted one may be reused.
            model: a scikit-learn, XGBoost, LightGBM or PyTorch model, the path of a file
                or folder saved beforehand, or any object joblib or pickle can save.
            extras / extra_files: a file or folder, or a list of them, stored beside the
                model under ``extras/``.
            extra_metadata: a JSON-able dict kept in the record (numpy values converted).
            X_train / y_train: training data, summarised (shapes, label counts).
            optimizer: a PyTorch optimizer, saved in ``checkpoint.pt``.
        """
        _refuse(unknown)
        chosen = model_id is not None
        model_id = layout.check_model_id(str(model_id)) if chosen else _new_id()
        layout.check_domain(domain)
        if model is None:
            raise ConfigError("Please specify model=<value>.", "Pass the model or a file path.")
        extras_list = extra_paths(extras) + extra_paths(extra_files)
        extra = None if extra_metadata is None else plain_mapping(extra_metadata, "extra_metadata")
        flavour = detect(model)
        if chosen and self.model_exists(domain, model_id):
            raise ModelExistsException(domain, model_id)
        data = dataset(X_train, y_train)
        job = _Upload(domain, model_id, flavour, model, extras_list, extra, optimizer, data)
        record = self._upload(job)
        if chosen:  # a deleted model's id is in use again (as modelstore does)
            self.store.delete([layout.version_key(domain, model_id, layout.DELETED)])
        return full_shape(record)

    def _upload(self, job: _Upload) -> dict[str, Any]:
        git = start_git_meta()  # runs while the model is saved
        try:
            return self._save_and_commit(job, git)
        finally:
            git()  # waits for git even if saving failed

    def _save_and_commit(
        self, job: _Upload, git: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        archive_key = layout.archive_key(job.domain, job.model_id, now.astimezone())
        with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
            files, archive = Path(tmp) / "files", Path(tmp) / layout.ARCHIVE
            files.mkdir()
            info = files / "model-info.json"
            info.write_bytes(dumps(job.model_type))
            saved = save(job.flavour, job.model, files, job.options)
            pack(archive, [info, *saved], job.extras, self.compresslevel)
            record = new_record(
                model=job.model_record(),
                storage=self._location(archive_key),
                dependencies=job.flavour.dependencies,
                extra=job.extra,
                now=now,
                git=git(),
            )
            self._commit(job.domain, job.model_id, archive_key, archive, record)
        return record

    def _commit(
        self, domain: str, model_id: str, archive_key: str, archive: Path, record: dict[str, Any]
    ) -> None:
        """Archive, record (create-only), latest: all written, or what was written deleted."""
        record_key = layout.version_key(domain, model_id)
        steps: list[tuple[str, Callable[[], object]]] = [
            (archive_key, lambda: self.store.put_file(archive_key, archive, mode="create")),
            (record_key, lambda: self.store.put(record_key, dumps(record), mode="create")),
            (
                layout.domain_key(domain),
                lambda: self.store.put(layout.domain_key(domain), dumps(record)),
            ),
        ]
        done: list[str] = []
        for key, write in steps:
            try:
                write()
            except AlreadyExistsError as exc:  # someone else's: never delete it
                self._undo(done)
                raise ModelExistsException(domain, model_id) from exc
            except BaseException:
                # A write that failed may still have landed; the domain's record is shared.
                self._undo([*done, key] if key != steps[2][0] else done)
                raise
            done.append(key)

    def _undo(self, keys: list[str]) -> None:
        """Delete what an upload wrote, the record before the archive; errors are secondary."""
        with contextlib.suppress(FerryError):  # the upload's own error is the one to report
            self.store.delete(list(reversed(keys)))

    def _location(self, key: str) -> dict[str, Any]:
        """Where ``key`` is, as modelstore's ``storage`` block records it."""
        url = self.store.url
        if url.startswith("s3://"):
            bucket, _, prefix = url[len("s3://") :].partition("/")
            return {"type": "aws:s3", "bucket": bucket, "prefix": f"{prefix}/{key}".lstrip("/")}
        if url.startswith("file://"):
            root = unquote(urlparse(url).path)
            return {"type": "file_system", "root": root, "path": os.path.join(root, key)}
        return {"type": f"ferry:{url.split('://')[0]}", "root": url, "path": f"{url}/{key}"}

    # -- downloading and loading ---------------------------------------------------------

    def download(
        self, local_path: str | os.PathLike[str], domain: str, model_id: str | None = None
    ) -> str:
        """Unpack a model's files into ``local_path`` (created if needed); that folder.

        The files are modelstore's: ``model-info.json``, the model's own files, and the
        extras under ``extras/``. ``model_id`` None: the domain's latest model.
        """
        record = self._record(domain, model_id)
        target = Path(local_path).expanduser().absolute()
        target.mkdir(parents=True, exist_ok=True)
        self._fetch(record, target)
        return str(target)

    def load(self, domain: str, model_id: str | None = None) -> Any:
        """The model object itself, loaded as it was saved (the latest when no id)."""
        record = self._record(domain, model_id)
        model_type = record["model"]["model_type"]
        flavour = flavour_named(model_type.get("library", ""))
        with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
            self._fetch(record, Path(tmp))
            try:
                return flavour.load(Path(tmp), model_type.get("type"))
            except ModuleNotFoundError as exc:
                raise ConfigError(
                    f"Loading this {flavour.library} model needs {exc.name}, not installed.",
                    f"pip install {exc.name}",
                ) from exc

    def _fetch(self, record: Mapping[str, Any], target: Path) -> None:
        key = self.records.archive_key(record)
        with tempfile.TemporaryDirectory(prefix="ferry-model-") as tmp:
            archive = Path(tmp) / layout.ARCHIVE
            self.store.get_file(key, archive)
            unpack(archive, target)

    # -- deleting ----------------------------------------------------------------------

    def delete_model(
        self,
        domain: str,
        model_id: str,
        skip_prompt: bool = False,
        *,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        """Delete a model: afterwards ``get_model_info`` raises ``ModelDeletedException``.

        As in modelstore, its record is kept in the reserved ``modelstore-deleted`` state
        and it leaves every other state; its archive is deleted. Asks first unless
        ``skip_prompt``; ``confirm`` replaces the question (a terminal prompt).
        """
        record = self.records.read(layout.version_key(domain, model_id))
        if record is None:
            marker = self.records.read(layout.version_key(domain, model_id, layout.DELETED))
            if marker is not None:  # finish a delete that was interrupted
                self._delete_leftovers(domain, model_id, marker)
            raise self._missing(domain, model_id)
        question = f"Delete model from domain={domain} with model_id={model_id}?"
        if not skip_prompt and not (confirm or ask)(question):
            return
        self.store.put(layout.version_key(domain, model_id, layout.DELETED), dumps(record))
        self.ensure_state(layout.DELETED)
        self.store.delete([layout.version_key(domain, model_id)])  # gone from here on
        self._delete_leftovers(domain, model_id, record)
        self._repoint_latest(domain, model_id)

    def _repoint_latest(self, domain: str, deleted: str) -> None:
        """If the domain's latest was the deleted model, make the newest one left the latest.

        (modelstore leaves it on the deleted model, and its ``download(model_id=None)`` fails.)
        """
        if self.get_domain(domain)["model"]["model_id"] != deleted:
            return
        remaining = self.records.read_folder(layout.versions_prefix(domain))
        if remaining:
            self.store.put(layout.domain_key(domain), dumps(remaining[0]))

    def _delete_leftovers(self, domain: str, model_id: str, record: Mapping[str, Any]) -> None:
        in_states = [layout.version_key(domain, model_id, s) for s in self.list_model_states()]
        self.store.delete([*in_states, self.records.archive_key(record)])


@dataclass(frozen=True)
class _Upload:
    """What one upload stores."""

    domain: str
    model_id: str
    flavour: Flavour
    model: Any
    extras: list[Path]
    extra: dict[str, Any] | None
    optimizer: Any
    data: dict[str, Any] | None

    @property
    def options(self) -> Mapping[str, Any]:
        return {"optimizer": self.optimizer}

    @property
    def model_type(self) -> dict[str, Any]:
        """modelstore's ``ModelType`` (a file saved beforehand has no type name)."""
        if self.flavour.library == "model_file":
            return {"library": "model_file"}
        return {"library": self.flavour.library, "type": type(self.model).__name__}

    def model_record(self) -> dict[str, Any]:
        try:
            params = plain_mapping(self.flavour.params(self.model, self.options), "parameters")
        except ConfigError:  # parameters are a courtesy: never fail an upload over them
            params = {}
        return {
            "domain": self.domain,
            "model_id": self.model_id,
            "model_type": self.model_type,
            "parameters": params,
            "data": self.data,
        }


def _new_id() -> str:
    """A UUID like modelstore's, but version 7 (time-ordered), so keys sort by upload time."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (uuid.uuid4().int & ((1 << 76) - 1))
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def _refuse(unknown: Mapping[str, Any]) -> None:
    if not unknown:
        return
    names = ", ".join(f"{name}=" for name in sorted(unknown))
    other = sorted(set(unknown) & _OTHER_MANAGERS)
    raise ConfigError(
        f"upload() does not take {names}"
        + (" (a modelstore manager that ferry does not have)" if other else "")
        + ".",
        "It takes model=, extras= (or extra_files=), extra_metadata=, X_train=, y_train= "
        "and optimizer=.",
    )


def _env(name: str, argument: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"No {argument} was given and {name} is not set.", f"Pass {argument}=.")
    return value
