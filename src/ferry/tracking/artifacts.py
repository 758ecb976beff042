"""What an artifact's bytes are made from, and how they are read back."""

from __future__ import annotations

import importlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ferry.errors import RubiconException

__all__ = [
    "artifact_bytes",
    "conda_environment",
    "deserialize_artifact",
    "h2o_bytes",
    "pip_requirements",
    "unzip",
    "xgboost_bytes",
]


def artifact_bytes(
    data_bytes: bytes | None,
    data_file: Any,
    data_object: Any,
    data_path: str | Path | None,
    data_directory: str | Path | None,
    name: str | None,
) -> tuple[bytes, str]:
    """The bytes to store and the artifact's name, from exactly one source.

    Precedence as in rubicon-ml: bytes, object (pickled), directory (zipped), file, path.
    """
    if name is None and data_path is None:
        raise RubiconException("`name` must be provided if not using `data_path`.")
    if data_bytes is not None:
        return bytes(data_bytes), str(name)
    if data_object is not None:
        return pickle.dumps(data_object), str(name)
    if data_directory is not None:
        return _zip(Path(data_directory)), str(name)
    if data_file is not None:
        return data_file.read(), str(name)
    if data_path is not None:
        path = Path(data_path).expanduser()
        try:
            return path.read_bytes(), name or path.name
        except FileNotFoundError:
            raise RubiconException(f"No file at data_path {path}.", "Check the path.") from None
    raise RubiconException(
        "One of `data_bytes`, `data_directory`, `data_file`, `data_object` or `data_path` "
        "must be provided."
    )


def _zip(folder: Path) -> bytes:
    """Zip a folder, keeping paths relative to it (rubicon-ml flattens them to names,
    which loses files with the same name in different sub-folders)."""
    if not folder.is_dir():
        raise RubiconException(f"data_directory {folder} is not a folder.", "Give a folder.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _dirs, files in os.walk(folder):
            for file in sorted(files):
                path = Path(root, file)
                archive.write(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def deserialize_artifact(data: bytes, how: str | None, name: str = "artifact") -> Any:
    """``None``: the bytes; ``"pickle"``: the object; ``"xgboost"``: a Booster;
    ``"h2o_binary"``/``"h2o"``/``"h2o_mojo"``: an h2o model (loaded from a temporary file
    named ``name``, as h2o loads from paths)."""
    if how is None:
        return data
    if how == "pickle":
        return pickle.loads(data)
    if how == "xgboost":
        xgboost = _require("xgboost", "deserialize='xgboost'", "pip install xgboost")
        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster
    if how in ("h2o", "h2o_binary", "h2o_mojo"):
        h2o = _require("h2o", f"deserialize={how!r}", "pip install h2o")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, Path(name).name or "model")
            path.write_bytes(data)
            load = h2o.import_mojo if how == "h2o_mojo" else h2o.load_model
            return load(str(path))
    raise RubiconException(
        f"Unknown deserialize={how!r}.",
        "Use None, 'pickle', 'xgboost', 'h2o_binary' or 'h2o_mojo'.",
    )


def _require(module: str, what: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RubiconException(f"{what} needs {module}, which is not installed.", install) from None


def unzip(data: bytes, folder: Path) -> None:
    """Extract zipped ``data`` into ``folder``; a member that would land outside it is
    refused."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = folder.resolve()
        for member in archive.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise RubiconException(
                    f"The zipped artifact holds {member!r}, which would land outside {folder}.",
                    "Unzip it by hand after checking where its files go.",
                )
        archive.extractall(folder)


def _command_output(command: list[str], what: str, fix: str) -> bytes:
    try:
        done = subprocess.run(command, capture_output=True, check=False)
    except FileNotFoundError:
        raise RubiconException(f"{what} needs `{command[0]}`, which is not on PATH.", fix) from None
    if done.returncode != 0:
        raise RubiconException(
            f"`{' '.join(command)}` failed: {done.stderr.decode(errors='replace').strip()}", fix
        )
    return done.stdout


def conda_environment() -> bytes:
    """``conda env export`` of the active environment."""
    return _command_output(
        ["conda", "env", "export"],
        "log_conda_environment",
        "Run it inside an active conda environment, or use log_pip_requirements.",
    )


def pip_requirements() -> bytes:
    """``pip freeze`` of the running interpreter's environment."""
    return _command_output(
        [sys.executable, "-m", "pip", "freeze"],
        "log_pip_requirements",
        f"Install pip into this environment: {sys.executable} -m ensurepip",
    )


def xgboost_bytes(model: Any, name: str) -> bytes:
    """An xgboost Booster's JSON model file (``Booster.save_model``)."""
    if not callable(getattr(model, "save_model", None)):
        raise RubiconException(
            f"log_xgboost_model takes an xgboost Booster, not {type(model).__name__}.",
            "Pass the Booster (for the scikit-learn API: model.get_booster()).",
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"{Path(name).name}.json")
        model.save_model(str(path))
        return path.read_bytes()


def h2o_bytes(model: Any, name: str, cross_validation: bool, mojo: bool) -> bytes:
    """An h2o model saved by ``h2o.save_model`` (or ``download_mojo``)."""
    h2o = _require("h2o", "log_h2o_model", "pip install h2o")
    with tempfile.TemporaryDirectory() as folder:
        if mojo:
            path = Path(folder, f"{Path(name).name}.zip")
            model.download_mojo(path=str(path))
        else:
            path = Path(
                h2o.save_model(
                    model,
                    export_cross_validation_predictions=cross_validation,
                    filename=Path(name).name,
                    path=folder,
                )
            )
        return path.read_bytes()
