"""ferry's settings: explicit arguments > ``FERRY_*`` environment > ``ferry.toml`` > defaults.

``ferry.toml`` is looked up in the project folder (the current directory or the nearest
parent that has one), then in the user's config directory
(``platformdirs.user_config_dir("ferry")``). Settings live in its ``[ferry]`` table::

    [ferry]
    endpoint_url = "http://127.0.0.1:4566"
    region = "eu-central-1"
    storage_class = "INTELLIGENT_TIERING"
    sse_c_key_file = "~/.config/ferry/sse-c.key"

The SSE-C key itself is never read from ``ferry.toml`` (a config file is too easily
committed): give it as ``FERRY_SSE_C_KEY`` or in a key file. :func:`load_settings` reads
the environment and files once; nothing deeper in ferry reads environment variables.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError

__all__ = ["CONFIG_FILE_NAME", "Settings", "load_settings"]

CONFIG_FILE_NAME = "ferry.toml"
STORAGE_CLASSES = (
    "STANDARD",
    "INTELLIGENT_TIERING",
    "STANDARD_IA",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
)


@dataclass(frozen=True)
class Settings:
    """The effective settings; ``sources`` says where each value came from."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    storage_class: str = "INTELLIGENT_TIERING"
    sse_c_key: str | None = field(default=None, repr=False)
    sse_c_key_file: str | None = None
    max_attempts: int = 8
    concurrency: int = 32
    path: str | None = None
    cache_dir: str | None = None
    cache_max_bytes: int = 10 * 1024**3
    offline: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def rows(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for each setting, with the SSE-C key redacted."""
        out = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            shown = "<redacted>" if f.name == "sse_c_key" and value else _show(value)
            out.append((f.name, shown, self.sources.get(f.name, "default")))
        return out


def _show(value: object) -> str:
    return "" if value is None else str(value)


_INT_SETTINGS = {"max_attempts", "concurrency", "cache_max_bytes"}
_BOOL_SETTINGS = {"offline"}
_ENV_ONLY = {"sse_c_key"}
# Standard AWS variables honoured when no ferry setting is given, in order.
_AWS_FALLBACKS = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "profile": ("AWS_PROFILE",),
}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user_config_dir: Path | None = None,
) -> Settings:
    """Resolve the settings from every layer.

    Args:
        overrides: explicit values (function arguments, CLI options); ``None`` values
            are ignored so callers can pass their optional arguments straight through.
        env: the environment to read (``os.environ`` when omitted).
        cwd: where to start looking for a project ``ferry.toml``.
        user_config_dir: the user's config folder (platformdirs' when omitted).

    Raises:
        ConfigError: a value has the wrong type, an unknown name, or is not allowed.
    """
    env = os.environ if env is None else env
    names = {f.name for f in fields(Settings)} - {"sources"}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for path in reversed(_config_files(cwd or Path.cwd(), user_config_dir)):
        for name, value in _read_toml(path, names).items():
            values[name], sources[name] = value, str(path)
    for name in names:
        env_name = f"FERRY_{name.upper()}"
        if env_name in env:
            values[name], sources[name] = env[env_name], f"env {env_name}"
        elif name not in values:
            for aws_name in _AWS_FALLBACKS.get(name, ()):
                if env.get(aws_name):
                    values[name], sources[name] = env[aws_name], f"env {aws_name}"
                    break
    for name, value in (overrides or {}).items():
        if name not in names:
            raise ConfigError(f"Unknown setting '{name}'.", f"Known settings: {sorted(names)}.")
        if value is not None:
            values[name], sources[name] = value, "argument"
    coerced = {name: _coerce(name, value, sources[name]) for name, value in values.items()}
    return Settings(**coerced, sources=sources)


def _config_files(cwd: Path, user_config_dir: Path | None) -> list[Path]:
    """Existing config files, highest precedence first: project, then user."""
    found = []
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            found.append(candidate)
            break
    if user_config_dir is None:
        import platformdirs

        user_config_dir = Path(platformdirs.user_config_dir("ferry"))
    user_file = user_config_dir / CONFIG_FILE_NAME
    if user_file.is_file() and user_file not in found:
        found.append(user_file)
    return found


def _read_toml(path: Path, names: set[str]) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the file's syntax.") from exc
    table = document.get("ferry", {})
    for name in table:
        if name in _ENV_ONLY:
            raise ConfigError(
                f"{path} sets '{name}': a key must not sit in a config file.",
                "Remove it; set FERRY_SSE_C_KEY or point 'sse_c_key_file' at a key file.",
            )
        if name not in names:
            raise ConfigError(
                f"{path} has an unknown setting '{name}' in [ferry].",
                f"Known settings: {sorted(names - _ENV_ONLY)}.",
            )
    return dict(table)


def _coerce(name: str, value: Any, source: str) -> Any:
    try:
        if name in _INT_SETTINGS:
            number = int(value)
            if number < 1:
                raise ValueError
            return number
        if name in _BOOL_SETTINGS:
            return _to_bool(value)
    except ValueError:
        kind = "a positive whole number" if name in _INT_SETTINGS else "true or false"
        raise ConfigError(
            f"Setting '{name}' from {source} is {value!r}, not {kind}.",
            f"Set it to {kind}.",
        ) from None
    if name == "storage_class":
        return _storage_class(str(value), source)
    return str(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(value)


def _storage_class(value: str, source: str) -> str:
    upper = value.upper().replace("-", "_")
    if upper not in STORAGE_CLASSES:
        raise ConfigError(
            f"Storage class {value!r} from {source} is not an S3 storage class.",
            f"Use one of {', '.join(STORAGE_CLASSES)}.",
        )
    return upper
