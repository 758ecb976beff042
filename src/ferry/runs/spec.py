"""The run file: a ``[run]`` table in ``ferry.toml`` or in a ``run.toml`` beside it.

::

    [run]
    name = "resnet"
    instance_type = "g5.xlarge"
    market = "spot"                         # or "on-demand" (the default)
    ami = "resolve:ssm:/aws/service/..."   # or "ami-...", or "name:Deep Learning*"
    root_volume_gb = 100
    git_url = "https://github.com/me/project.git"
    git_ref = "main"
    overrides = ["configs/train.yaml"]      # local files written over the checkout
    setup = ["pip install -r requirements.txt"]
    train = "python train.py"
    pull = ["cached-datasets"]              # default: the workspace's pull-only mappings
    push = ["logs", "models", "checkpoints"]
    max_runtime = "4h"
    grace = "2m"
    budget = 20.0                           # dollars; refused at launch if it cannot hold
    tags = { team = "vision" }

Every key is checked: an unknown one is refused with the closest valid name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ferry.config import CONFIG_FILE_NAME, check_keys, read_config_file
from ferry.errors import ConfigError
from ferry.runs.layout import check_name

__all__ = [
    "DEFAULT_AMI",
    "RUN_FILE_NAME",
    "RunSpec",
    "find_run_file",
    "load_run_spec",
    "parse_duration",
    "spec_from_table",
]

RUN_FILE_NAME = "run.toml"
DEFAULT_AMI = (
    "resolve:ssm:/aws/service/deeplearning/ami/x86_64/"
    "base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id"
)
MARKETS = ("on-demand", "spot")
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)
_DURATIONS = {
    "max_runtime": "max_runtime_s",
    "grace": "grace_s",
    "heartbeat": "heartbeat_s",
    "log_flush": "log_flush_s",
    "final_wait": "final_wait_s",
    "boot_timeout": "boot_timeout_s",
}
_TUPLES = ("overrides", "setup", "pull", "push", "ami_owners", "security_groups")


@dataclass(frozen=True)
class RunSpec:
    """A validated ``[run]`` table (durations in seconds)."""

    train: str
    instance_type: str
    folder: Path = Path(".")
    name: str = "run"
    region: str | None = None
    market: str = "on-demand"
    ami: str = DEFAULT_AMI
    ami_owners: tuple[str, ...] = ("amazon",)
    root_volume_gb: int = 100
    data_volume_gb: int = 0
    git_url: str | None = None
    git_ref: str = "main"
    overrides: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    pull: tuple[str, ...] | None = None
    push: tuple[str, ...] | None = None
    max_runtime_s: float = 4 * 3600
    grace_s: float = 120
    heartbeat_s: float = 30
    log_flush_s: float = 5
    final_wait_s: float = 300
    boot_timeout_s: float = 900
    allow_ssh: bool = False
    ssh_cidr: str | None = None
    key_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    budget: float | None = None
    price_per_hour: float | None = None
    runs_prefix: str | None = None
    subnet_id: str | None = None
    security_groups: tuple[str, ...] = ()
    instance_profile: str = "ferry-runs"
    git_token_env: str | None = None
    deploy_key_file: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.market not in MARKETS:
            raise ConfigError(
                f"[run] market is {self.market!r}.", f"Use one of {', '.join(MARKETS)}."
            )
        if self.allow_ssh and not (self.ssh_cidr and self.key_name):
            raise ConfigError(
                "[run] allow_ssh = true needs ssh_cidr (who may connect) and key_name (an "
                "existing key pair: ferry creates none).",
                'Add, for example, ssh_cidr = "203.0.113.7/32" and key_name = "my-key".',
            )
        if self.max_runtime_s <= 0 or self.grace_s < 0:
            raise ConfigError(
                "[run] max_runtime must be positive.", 'Write e.g. max_runtime = "2h".'
            )
        for path in self.overrides:
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ConfigError(
                    f"[run] override {path!r} is outside the project.",
                    "List paths relative to the folder of the run file.",
                )

    @property
    def expires_after_s(self) -> float:
        """How long after launch every resource of the run may be called dead."""
        return self.max_runtime_s + self.grace_s + self.boot_timeout_s + 15 * 60


def parse_duration(value: Any, key: str) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1h30m"``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(str(value)) if isinstance(value, str) and value.strip() else None
    if not match or not any(match.groups()):
        raise ConfigError(
            f"[run] {key} = {value!r} is not a duration.",
            f'Write seconds or a duration such as {key} = "90m" or "1h30m".',
        )
    hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _known_keys() -> list[str]:
    names = [f.name for f in fields(RunSpec) if f.name != "folder"]
    seconds = set(_DURATIONS.values())
    return [n for n in names if n not in seconds] + list(_DURATIONS)


def _convert(table: dict[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in _DURATIONS:
            values[_DURATIONS[key]] = parse_duration(value, key)
        elif key in _TUPLES:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ConfigError(
                    f"{where} {key} must be a list of strings.", f'Write {key} = ["..."].'
                )
            values[key] = tuple(items)
        elif key == "tags":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} tags must be a table.", 'Write tags = { team = "ml" }.')
            values[key] = {str(k): str(v) for k, v in value.items()}
        else:
            values[key] = value
    return values


_TYPES: dict[str, tuple[type, ...]] = {
    "train": (str,),
    "instance_type": (str,),
    "name": (str,),
    "region": (str,),
    "market": (str,),
    "ami": (str,),
    "git_url": (str,),
    "git_ref": (str,),
    "ssh_cidr": (str,),
    "key_name": (str,),
    "runs_prefix": (str,),
    "subnet_id": (str,),
    "instance_profile": (str,),
    "git_token_env": (str,),
    "deploy_key_file": (str,),
    "root_volume_gb": (int,),
    "data_volume_gb": (int,),
    "allow_ssh": (bool,),
    "budget": (int, float),
    "price_per_hour": (int, float),
}


def _check_types(values: dict[str, Any], where: str) -> None:
    for key, kinds in _TYPES.items():
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            kind = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"{where} {key} = {value!r} is not {kind}.", f"Give {key} as {kind}.")


def spec_from_table(table: dict[str, Any], folder: Path, where: str = "[run]") -> RunSpec:
    """A :class:`RunSpec` from a parsed ``[run]`` table."""
    check_keys(table, _known_keys(), where)
    values = _convert(table, where)
    _check_types(values, where)
    for required in ("train", "instance_type"):
        if required not in values:
            raise ConfigError(
                f"{where} has no {required!r}.",
                'Add it, for example train = "python train.py" and instance_type = "g5.xlarge".',
            )
    return RunSpec(folder=folder, **values)


def find_run_file(start: Path) -> Path:
    """``run.toml`` in ``start``, else the nearest ``ferry.toml`` with a ``[run]`` table."""
    if (start / RUN_FILE_NAME).is_file():
        return start / RUN_FILE_NAME
    for folder in (start, *start.parents):
        path = folder / CONFIG_FILE_NAME
        if path.is_file() and "run" in read_config_file(path):
            return path
    raise ConfigError(
        f"No run file in {start}: no run.toml, and no ferry.toml with a [run] table.",
        'Add a [run] table to ferry.toml with at least train = "..." and instance_type = "...".',
    )


def load_run_spec(path: Path | None = None, *, cwd: Path | None = None) -> RunSpec:
    """Read and check the run file (``path``, or the one :func:`find_run_file` finds)."""
    path = path or find_run_file(cwd or Path.cwd())
    document = read_config_file(path)
    if "run" not in document:
        raise ConfigError(f"{path} has no [run] table.", "Add one (see the README's Runs section).")
    return spec_from_table(document["run"], path.resolve().parent, f"{path} [run]")
