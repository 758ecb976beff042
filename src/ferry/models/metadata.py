"""A model's record in modelstore's shape (``metadata.Summary`` of modelstore 0.0.81).

Written as modelstore writes it (``None`` fields left out); returned as modelstore's
``asdict`` returns it (every field, ``None`` where unset), so ``meta["model"]["model_id"]``,
``meta["code"]["created"]`` and ``meta["extra"]`` read the same with either tool. ferry adds
one top-level ``"ferry"`` block (modelstore ignores unknown keys): ferry's version and the
upload time to the microsecond, which orders uploads made within the same second.
"""

from __future__ import annotations

import functools
import getpass
import json
import pickle
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

from ferry.errors import ConfigError

__all__ = [
    "COMPATIBLE_WITH",
    "dumps",
    "full_shape",
    "git_meta",
    "new_record",
    "plain",
    "sort_key",
    "start_git_meta",
]

COMPATIBLE_WITH = "0.0.81"  # the modelstore version whose layout and records ferry writes
_CREATED = "%Y/%m/%d/%H:%M:%S"
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "xgboost": "xgboost-cpu"}


def new_record(
    *,
    model: dict[str, Any],
    storage: dict[str, Any],
    dependencies: tuple[str, ...],
    extra: Mapping[str, Any] | None,
    now: datetime,
    git: dict[str, Any] | None,
) -> dict[str, Any]:
    """A record as modelstore writes it (fields that would be ``None`` left out)."""
    from ferry import __version__

    code = {
        "runtime": f"python:{platform.python_version()}",
        "user": _user(),
        "created": now.astimezone().strftime(_CREATED),
        "dependencies": _versions(dependencies),
        "git": git,
    }
    record = {
        "model": _drop_none(model),
        "storage": _drop_none(storage),
        "modelstore": COMPATIBLE_WITH,
        "code": _drop_none(code),
        "extra": None if extra is None else plain_mapping(extra, "extra_metadata"),
        "ferry": {"version": __version__, "created": now.astimezone(UTC).isoformat()},
    }
    return _drop_none(record)


def full_shape(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with every field of modelstore's dataclasses (``None`` where unset)."""
    model = dict(record.get("model") or {})
    data = model.get("data")
    shaped_model = {
        "domain": model.get("domain"),
        "model_id": model.get("model_id"),
        "model_type": _model_type(model.get("model_type") or {}),
        "parameters": model.get("parameters"),
        "data": None
        if data is None
        else {
            "features": _with(data.get("features"), "shape"),
            "labels": _with(data.get("labels"), "shape", "values"),
        },
    }
    code = record.get("code")
    shaped = {
        "model": shaped_model,
        "storage": _with(
            record.get("storage"), "type", "root", "path", "bucket", "prefix", "container"
        ),
        "modelstore": record.get("modelstore"),
        "code": _with(code, "runtime", "user", "created", "dependencies", "git"),
        "extra": record.get("extra"),
    }
    if "ferry" in record:
        shaped["ferry"] = record["ferry"]
    return shaped


def _model_type(value: Mapping[str, Any]) -> dict[str, Any]:
    models = value.get("models")
    return {
        "library": value.get("library"),
        "type": value.get("type"),
        "models": None if models is None else [_model_type(m) for m in models],
    }


def _with(value: Mapping[str, Any] | None, *names: str) -> dict[str, Any] | None:
    return None if value is None else {name: value.get(name) for name in names}


def sort_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """Newest-first order: modelstore's ``code.created`` (seconds), then ferry's microseconds."""
    code = record.get("code") or {}
    try:
        created = datetime.strptime(str(code.get("created")), _CREATED).isoformat()
    except ValueError:
        created = ""
    return created, str((record.get("ferry") or {}).get("created", ""))


def dataset(x_train: Any, y_train: Any) -> dict[str, Any] | None:
    """modelstore's summary of the training data: shapes, and label counts."""
    features = {"shape": list(x_train.shape)} if hasattr(x_train, "shape") else None
    labels: dict[str, Any] | None = None
    if hasattr(y_train, "shape"):
        labels = {"shape": list(y_train.shape)}
        counts = _label_counts(y_train)
        if counts is not None:
            labels["values"] = counts
    if features is None and labels is None:
        return None
    return _drop_none({"features": features, "labels": labels})


def _label_counts(values: Any) -> dict[str, int] | None:
    if getattr(values, "ndim", 0) != 1:
        return None
    if hasattr(values, "value_counts"):  # a pandas Series
        counts = values.value_counts().to_dict()
    else:
        import numpy as np

        unique, numbers = np.unique(values, return_counts=True)
        counts = dict(zip(unique.tolist(), numbers.tolist(), strict=True))
    # JSON keys are strings; modelstore fails here on numpy keys, ferry writes them as str.
    return {str(plain(k)): int(v) for k, v in counts.items()}


def plain(value: Any) -> Any:
    """``value`` as JSON values: numpy scalars and arrays, tensors, datetimes, paths."""
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def plain_mapping(value: Any, name: str) -> dict[str, Any]:
    """A JSON-able copy of a dict argument, or a ``ConfigError`` naming the argument."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a dict, not {type(value).__name__}.", "Pass a dict.")
    try:
        result: dict[str, Any] = plain(value)
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} cannot be stored as JSON: {exc}.",
            "Use str, int, float, bool, None, lists and dicts (numpy values are converted).",
        ) from exc
    return result


def dumps(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record).encode()


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _versions(modules: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``modules``, without importing any (modelstore imports each)."""
    versions = {}
    for name in modules:
        version = _version(name)
        if version is not None:
            versions[name] = version
    return versions


@functools.cache  # what is installed does not change while a program runs (usually)
def _version(module: str) -> str | None:
    if module == "pickle":
        return str(getattr(pickle, "format_version", ""))
    loaded = sys.modules.get(module)
    if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
        return str(loaded.__version__)
    for name in (_DISTRIBUTIONS.get(module), module):
        if name:
            try:
                return importlib_metadata.version(name)
            except importlib_metadata.PackageNotFoundError:
                continue
    return None


def git_meta() -> dict[str, Any] | None:
    """modelstore's git block: repository, sha, local changes, branch; None outside a repo."""
    return start_git_meta()()


def start_git_meta() -> Callable[[], dict[str, Any] | None]:
    """Start reading the git block; the function returned waits for it.

    Two ``git`` processes run while the caller saves the model (modelstore needs GitPython
    for this, and waits for it). Call the function on every path, so they are reaped.
    """
    processes = [
        _start(["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"]),
        _start(["git", "config", "--get", "remote.origin.url"]),
    ]
    return functools.cache(lambda: _git_block(*[_finish(p) for p in processes]))


def _git_block(status_out: tuple[str, int], remote_out: tuple[str, int]) -> dict[str, Any] | None:
    (out, status), (url, _) = status_out, remote_out
    lines = out.splitlines()
    heads = dict(line[2:].split(" ", 1) for line in lines if line.startswith("# ") and " " in line)
    sha, branch = heads.get("branch.oid", ""), heads.get("branch.head", "")
    if status != 0 or len(sha) != 40 or branch in {"", "(detached)"}:
        return None
    return {
        "repository": url.strip().split(".git")[0].split("/")[-1],
        "sha": sha,
        "local_changes": any(not line.startswith("#") for line in lines),
        "branch": branch,
    }


def _finish(process: subprocess.Popen[str] | None) -> tuple[str, int]:
    if process is None:
        return "", -1
    out, _ = process.communicate()
    return out, process.returncode


def _start(command: list[str]) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
    except OSError:
        return None
