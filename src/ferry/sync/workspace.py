"""The workspace file: which local folders sync with which S3 prefixes, and how (seed 002).

``ferry init s3://bucket/team`` writes a ``ferry.toml`` with the seed's layout::

    [workspace]
    remote_root = "s3://bucket/team"

    [[workspace.mapping]]
    name = "cached-datasets"
    local = "data/cached_datasets"
    remote = "cached-datasets"
    direction = "pull"            # the bucket is the source of truth
    ...
    [[workspace.mapping]]
    name = "checkpoints"
    local = "data/checkpoints"
    remote = "checkpoints"
    direction = "both"
    conflict = "newest-wins"

Local paths are relative to the folder that holds ``ferry.toml``; remote prefixes to
``remote_root``. Settings (endpoint, SSE-C key file, storage class) stay in ``[ferry]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast

from ferry.config import CONFIG_FILE_NAME, check_keys, read_config_file
from ferry.errors import ConfigError
from ferry.storage.filters import Filters
from ferry.storage.names import parse_s3_url

__all__ = [
    "DEFAULT_MAPPINGS",
    "Mapping",
    "Workspace",
    "check_overlaps",
    "find_workspace",
    "init_workspace",
    "workspace_file",
]

Direction = Literal["pull", "push", "both"]
Conflict = Literal["local-wins", "remote-wins", "newest-wins", "manual"]
DIRECTIONS: tuple[Direction, ...] = ("pull", "push", "both")
CONFLICTS: tuple[Conflict, ...] = ("local-wins", "remote-wins", "newest-wins", "manual")


@dataclass(frozen=True)
class Mapping:
    """One local folder and its S3 prefix, with a direction and a conflict rule."""

    name: str
    local: str
    remote: str
    direction: Direction = "both"
    conflict: Conflict = "local-wins"
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()

    @property
    def filters(self) -> Filters:
        """Its rules, excludes first, then includes (which take back what they match)."""
        return Filters.of(self.exclude, self.include)


DEFAULT_MAPPINGS = (
    Mapping("cached-datasets", "data/cached_datasets", "cached-datasets", "pull", "remote-wins"),
    Mapping("logs", "data/logs", "logs", "both", "local-wins"),
    Mapping("models", "data/models", "models", "both", "local-wins"),
    Mapping("checkpoints", "data/checkpoints", "checkpoints", "both", "newest-wins"),
)


@dataclass(frozen=True)
class Workspace:
    """A workspace: its folder, its S3 root and its mappings."""

    root: Path
    remote_root: str
    mappings: tuple[Mapping, ...]
    origin: str = "the workspace"  # where it was defined, for error messages

    def __post_init__(self) -> None:
        check_overlaps(self.mappings, self.origin)

    def local_dir(self, mapping: Mapping) -> Path:
        return self.root / mapping.local

    def remote_url(self, mapping: Mapping) -> str:
        return f"{self.remote_root.rstrip('/')}/{mapping.remote.strip('/')}"

    def state_dir(self) -> Path:
        return self.root / ".ferry" / "sync"

    def select(self, names: tuple[str, ...]) -> tuple[Mapping, ...]:
        """The mappings named (all when none are)."""
        if not names:
            return self.mappings
        known = {m.name: m for m in self.mappings}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"No mapping named {unknown[0]!r} in the workspace.",
                f"Mappings: {', '.join(known)}.",
            )
        return tuple(known[n] for n in names)


def find_workspace(start: Path) -> Workspace:
    """The workspace of ``start`` or its nearest parent with a ``[workspace]`` table."""
    found = workspace_file(start)
    if found is None:
        raise ConfigError(
            f"No workspace found in {start} or its parents (a ferry.toml with [workspace]).",
            "Create one with: ferry init s3://your-bucket/your-prefix",
        )
    path, document = found
    return _parse(path.parent, document["workspace"], path)


def workspace_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``ferry.toml`` at ``start`` or above with a ``[workspace]`` table, and
    its document; None if there is none (a file that is not TOML raises its error)."""
    for folder in (start, *start.parents):
        path = folder / CONFIG_FILE_NAME
        if path.is_file():
            document = read_config_file(path)
            if "workspace" in document:
                return path, document
    return None


_WORKSPACE_KEYS = ("remote_root", "mapping")
_MAPPING_KEYS = ("name", "local", "remote", "direction", "conflict", "exclude", "include")


def _parse(folder: Path, table: dict[str, object], path: Path) -> Workspace:
    check_keys(table, _WORKSPACE_KEYS, f"{path} [workspace]")
    remote_root = table.get("remote_root")
    if not isinstance(remote_root, str):
        raise ConfigError(
            f'{path}: [workspace] needs remote_root = "s3://bucket/prefix".',
            "Add it, or run ferry init.",
        )
    parse_s3_url(remote_root)
    raw = table.get("mapping")
    if raw is not None and not (isinstance(raw, list) and all(isinstance(m, dict) for m in raw)):
        raise ConfigError(
            f"{path}: 'mapping' must be a list of [[workspace.mapping]] tables.",
            "Write each mapping as a [[workspace.mapping]] table (see ferry init).",
        )
    mappings = DEFAULT_MAPPINGS if raw is None else tuple(_mapping(m, path) for m in raw)
    names = [m.name for m in mappings]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two mappings share a name.", "Give each mapping its own name.")
    return Workspace(folder, remote_root, mappings, origin=str(path))


def check_overlaps(mappings: tuple[Mapping, ...], where: str) -> None:
    """Refuse two mappings whose remote prefixes or local folders are the same or nested:
    one mapping's sync would then add or delete the other's files."""
    for i, a in enumerate(mappings):
        for b in mappings[i + 1 :]:
            for side, x, y in (("remote prefix", a.remote, b.remote), ("folder", a.local, b.local)):
                if _nested(x, y):
                    raise ConfigError(
                        f"{where}: mappings {a.name!r} and {b.name!r} overlap: {side} "
                        f"{x!r} and {y!r} are the same or one holds the other.",
                        "Give each mapping its own folder and prefix, side by side.",
                    )


def _nested(x: str, y: str) -> bool:
    a, b = PurePosixPath(x.strip("/")).parts, PurePosixPath(y.strip("/")).parts
    return a[: len(b)] == b or b[: len(a)] == a


def _mapping(raw: dict[str, object], path: Path) -> Mapping:
    check_keys(raw, _MAPPING_KEYS, f"{path} [[workspace.mapping]]")
    patterns = {k: _patterns(raw.pop(k, []), k, path) for k in ("exclude", "include")}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{path}: a mapping's {key!r} is {value!r}, not a string.",
                f'Quote it: {key} = "..."',
            )
    text = cast(dict[str, str], raw)
    try:
        mapping = Mapping(
            name=text.get("name") or text["remote"],
            local=text["local"],
            remote=text["remote"],
            direction=cast(Direction, text.get("direction", "both")),
            conflict=cast(Conflict, text.get("conflict", "local-wins")),
            exclude=patterns["exclude"],
            include=patterns["include"],
        )
    except KeyError as exc:
        raise ConfigError(
            f"{path}: a [[workspace.mapping]] lacks {exc.args[0]!r}.",
            "Each mapping needs local and remote.",
        ) from None
    _check_mapping(mapping, path)
    return mapping


def _patterns(value: object, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ConfigError(
            f"{path}: a mapping's {key!r} is {value!r}, not a list of patterns.",
            f'Write it as {key} = ["*.tmp", "cache/*"].',
        )
    return tuple(value)


def _check_mapping(mapping: Mapping, path: Path) -> None:
    if mapping.direction not in DIRECTIONS:
        raise ConfigError(
            f"{path}: mapping {mapping.name!r} has direction {mapping.direction!r}.",
            f"Use one of {', '.join(DIRECTIONS)}.",
        )
    if mapping.conflict not in CONFLICTS:
        raise ConfigError(
            f"{path}: mapping {mapping.name!r} has conflict {mapping.conflict!r}.",
            f"Use one of {', '.join(CONFLICTS)}.",
        )
    local = Path(mapping.local)
    if local.is_absolute() or ".." in local.parts or not mapping.local.strip("/."):
        raise ConfigError(
            f"{path}: mapping {mapping.name!r} has local {mapping.local!r}, which is not a "
            "folder inside the workspace.",
            "Use a path relative to the folder of ferry.toml, such as data/logs.",
        )
    if not mapping.remote.strip("/"):
        raise ConfigError(
            f"{path}: mapping {mapping.name!r} has an empty remote prefix (the whole root).",
            "Give it a prefix of its own below remote_root, such as logs.",
        )


def init_workspace(folder: Path, remote_root: str) -> Path:
    """Write a ``ferry.toml`` with the default mappings; refuse to replace one."""
    parse_s3_url(remote_root)
    path = folder / CONFIG_FILE_NAME
    if path.exists():
        raise ConfigError(f"{path} already exists.", "Edit it, or remove it first.")
    lines = [
        "# ferry workspace: local folders <-> S3 prefixes (see README: Sync)",
        "[workspace]",
        f'remote_root = "{remote_root}"',
        "",
    ]
    for m in DEFAULT_MAPPINGS:
        lines += [
            "[[workspace.mapping]]",
            f'name = "{m.name}"',
            f'local = "{m.local}"',
            f'remote = "{m.remote}"',
            f'direction = "{m.direction}"',
            f'conflict = "{m.conflict}"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    for m in DEFAULT_MAPPINGS:
        (folder / m.local).mkdir(parents=True, exist_ok=True)
    return path
