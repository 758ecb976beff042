"""What an artifact's bytes are made from, and how they are read back."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

from ferry.errors import RubiconException

__all__ = ["artifact_bytes", "deserialize_artifact"]


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


def deserialize_artifact(data: bytes, how: str | None) -> Any:
    """``None``: the bytes; ``"pickle"``: the object; ``"xgboost"``: a Booster."""
    if how is None:
        return data
    if how == "pickle":
        return pickle.loads(data)
    if how == "xgboost":
        try:
            import xgboost
        except ImportError:
            raise RubiconException(
                "deserialize='xgboost' needs xgboost.", "pip install xgboost"
            ) from None
        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster
    raise RubiconException(f"Unknown deserialize={how!r}.", "Use None, 'pickle' or 'xgboost'.")
