"""``bundle/run.json``: the resolved run config the dev machine writes and ``ferry exec`` reads.

It holds no secrets: those are SSM SecureString parameters named in ``secrets``. Unknown
keys are refused when reading, so an executor older than the dev machine fails loudly
instead of silently ignoring a setting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ferry.config import check_keys
from ferry.errors import ConfigError
from ferry.sync.workspace import Mapping, Workspace

__all__ = ["GitSource", "RunConfig", "WorkspaceConfig"]


@dataclass(frozen=True)
class GitSource:
    """Where the code comes from: a repository, a ref, and files written over it."""

    url: str
    ref: str = "main"
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkspaceConfig:
    """The workspace as the instance sees it: its S3 root and its mappings."""

    remote_root: str
    mappings: tuple[Mapping, ...]

    def workspace(self, root: Path) -> Workspace:
        """A :class:`ferry.sync.Workspace` rooted at ``root`` (the instance's workdir)."""
        return Workspace(root, self.remote_root, self.mappings)


@dataclass(frozen=True)
class RunConfig:
    """Everything the executor needs to know about a run (see the runs contract)."""

    run_id: str
    ferry_version: str
    region: str
    workspace: WorkspaceConfig
    train: str
    max_runtime_s: float
    grace_s: float
    endpoints: dict[str, str] = field(default_factory=dict)
    pull: tuple[str, ...] = ()
    push: tuple[str, ...] = ()
    git: GitSource | None = None
    setup: tuple[str, ...] = ()
    heartbeat_s: float = 30
    log_flush_s: float = 5
    secrets: dict[str, str] = field(default_factory=dict)
    sse_c: bool = False
    storage_class: str = "INTELLIGENT_TIERING"
    market: str = "on-demand"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> RunConfig:
        """Parse ``run.json``; unknown or missing keys raise ``ConfigError``."""
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise ConfigError(f"run.json is not JSON: {exc}.", "Re-run 'ferry run'.") from exc
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        check_keys(raw, cls.__dataclass_fields__, "run.json")
        try:
            workspace = raw["workspace"]
            check_keys(workspace, ("remote_root", "mappings"), "run.json workspace")
            git = raw.get("git")
            values = {
                **raw,
                "workspace": WorkspaceConfig(
                    workspace["remote_root"],
                    tuple(Mapping(**m) for m in workspace["mappings"]),
                ),
                "git": None
                if git is None
                else GitSource(**{**git, "overrides": tuple(git.get("overrides", ()))}),
            }
            for name in ("pull", "push", "setup"):
                values[name] = tuple(raw.get(name, ()))
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f"run.json is incomplete or malformed ({exc}).",
                "The dev machine and the instance may run different ferry versions; re-run "
                "'ferry run' with one version.",
            ) from exc
