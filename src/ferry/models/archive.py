"""A model's ``artifacts.tar.gz``: model files at the top, extra files under ``extras/``.

modelstore opens archives as gzip, so ferry writes gzip too, by default at level 0 (stored,
not compressed): ``tar -9`` is about half of modelstore's upload time, and model files
travel to S3 faster than a single core compresses them. ``compresslevel`` trades time for
size (1 already shrinks a random forest about four times).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from ferry.errors import ConfigError, NotFoundError

__all__ = ["extra_paths", "pack", "unpack"]

ExtraFiles = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def extra_paths(extras: ExtraFiles) -> list[Path]:
    """The extra files and folders to add, checked: each exists, no two share a name."""
    if extras is None:
        return []
    items = [extras] if isinstance(extras, str | os.PathLike) else list(extras)
    paths: dict[str, Path] = {}
    for item in map(Path, items):
        if not item.exists():
            raise NotFoundError(f"Extra file {item} does not exist.", "Check the path.")
        if item.name in paths and paths[item.name].resolve() != item.resolve():
            raise ConfigError(
                f"Two extras are both named {item.name!r}: {paths[item.name]} and {item}.",
                "Rename one, or put them in a folder and pass the folder.",
            )
        paths[item.name] = item
    return list(paths.values())


def pack(target: Path, files: Iterable[Path], extras: Iterable[Path], compresslevel: int) -> None:
    """Write the archive: ``files`` at its top level, ``extras`` under ``extras/``."""
    with tarfile.open(target, "w:gz", compresslevel=compresslevel) as archive:
        for path in files:
            archive.add(path, arcname=path.name)
        for path in extras:
            archive.add(path, arcname=f"extras/{path.name}")


def unpack(archive_path: Path, target: Path) -> None:
    """Extract into ``target``, refusing members that would land outside it."""
    try:
        with tarfile.open(archive_path) as archive:
            archive.extractall(target, filter="data")
    except tarfile.TarError as exc:
        raise ConfigError(
            f"The model archive is damaged or unsafe: {exc}.",
            "Upload the model again; the archive in the store cannot be unpacked.",
        ) from exc
