"""ferry's settings: explicit arguments > ``FERRY_*`` environment > ``ferry.toml`` > defaults.

``ferry.toml`` is looked up in the project folder (the current directory or the nearest
parent that has one), then in the user's config directory
(``platformdirs.user_config_dir("ferry")``). Settings live in its ``[ferry]`` table::

    [ferry]
    endpoint_url = "http://127.0.0.1:4566"
    region = "eu-central-1"
    storage_class = "INTELLIGENT_TIERING"
    sse_c_key_file = "~/.config/ferry/sse-c.key"

    [ferry.endpoints]             # other AWS services, when not AWS's own (EC2, IAM, ...)
    ec2 = "http://127.0.0.1:5000"

The SSE-C key itself is never read from ``ferry.toml`` (a config file is too easily
committed): give it as ``FERRY_SSE_C_KEY`` or in a key file. :func:`load_settings` reads
the environment and files once; nothing deeper in ferry reads environment variables.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError

__all__ = [
    "CONFIG_FILE_NAME",
    "Secret",
    "Settings",
    "check_keys",
    "load_settings",
    "read_config_file",
]

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


class Secret:
    """A secret string (the SSE-C key as given): shown redacted everywhere, so a traceback
    that prints local variables or a settings dump never reveals it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must use it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """The effective settings; ``sources`` says where each value came from."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    storage_class: str = "INTELLIGENT_TIERING"
    sse_c_key: Secret | None = None
    sse_c_key_file: str | None = None
    max_attempts: int = 8
    concurrency: int = 32
    path: str | None = None
    cache_dir: str | None = None
    cache_max_bytes: int = 10 * 1024**3
    offline: bool = False
    no_sign_request: bool = False
    endpoints: Mapping[str, str] = field(default_factory=dict, hash=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def rows(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for each setting, with the SSE-C key redacted."""
        out = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if f.name == "sse_c_key" and value:
                shown = "<redacted>"
            elif f.name == "endpoints":
                shown = ", ".join(f"{k or '*'}={v}" for k, v in sorted(value.items()))
            else:
                shown = _show(value)
            out.append((f.name, shown, self.sources.get(f.name, "default")))
        return out


def _show(value: object) -> str:
    return "" if value is None else str(value)


_INT_SETTINGS = {"max_attempts", "concurrency", "cache_max_bytes"}
_BOOL_SETTINGS = {"offline", "no_sign_request"}
_ENV_ONLY = {"sse_c_key"}
# Top-level tables of ferry.toml and who reads them.
TABLES = ("ferry", "workspace", "run")
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
    endpoints = _endpoints(values.pop("endpoints", {}), env, sources)
    for name in names - {"endpoints"}:
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
    if "endpoints" in coerced:
        endpoints = {**endpoints, **coerced.pop("endpoints")}
    return Settings(**coerced, endpoints=endpoints, sources=sources)


def _endpoints(table: Any, env: Mapping[str, str], sources: dict[str, str]) -> dict[str, str]:
    """Per-service endpoints: ``[ferry.endpoints]``, then ``AWS_ENDPOINT_URL`` (key ``""``,
    every service) and ``AWS_ENDPOINT_URL_<SERVICE>``, as boto3 reads them."""
    where = sources.get("endpoints", "ferry.toml")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(
            f"[ferry.endpoints] in {where} must map service names to URLs.",
            'Write it as: [ferry.endpoints] then ec2 = "http://127.0.0.1:5000".',
        )
    found = {str(k).lower().replace("-", "_"): v for k, v in table.items()}
    for name, value in env.items():
        if name == "AWS_ENDPOINT_URL" and value:
            found[""] = value
        elif name.startswith("AWS_ENDPOINT_URL_") and value:
            found[name[len("AWS_ENDPOINT_URL_") :].lower()] = value
    for url in found.values():
        _check_url(url, "an endpoint")
    if found:
        sources.setdefault("endpoints", "env AWS_ENDPOINT_URL_*")
    return found


def _user_config_dir() -> Path:
    """platformdirs' user config folder of ferry. On Linux it is found by platformdirs' own
    rule (``$XDG_CONFIG_HOME`` when absolute, else ``~/.config``) without importing it:
    that import is ~8 ms of every command's start (a test keeps the two equal)."""
    if sys.platform == "linux":
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        return Path(xdg if os.path.isabs(xdg) else os.path.expanduser("~/.config"), "ferry")
    import platformdirs

    return Path(platformdirs.user_config_dir("ferry"))


def _config_files(cwd: Path, user_config_dir: Path | None) -> list[Path]:
    """Existing config files, highest precedence first: project, then user."""
    found = []
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            found.append(candidate)
            break
    if user_config_dir is None:
        user_config_dir = _user_config_dir()
    user_file = user_config_dir / CONFIG_FILE_NAME
    if user_file.is_file() and user_file not in found:
        found.append(user_file)
    return found


def read_config_file(path: Path) -> dict[str, Any]:
    """A ``ferry.toml`` parsed, with its top-level tables checked against :data:`TABLES`."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the file's syntax.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}.", "Check the file.") from exc
    check_keys(document, TABLES, f"{path}")
    for name in TABLES:
        if name in document and not isinstance(document[name], dict):
            raise ConfigError(f"{path}: '{name}' must be a table ([{name}]).", f"Write [{name}].")
    return document


def check_keys(table: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    """Refuse a key of ``table`` not in ``known``, naming the closest valid key.

    A typo must never fall back silently to a default: ``directon = "pull"`` ignored would
    turn a pull-only mapping into a two-way one.
    """
    known = list(known)
    for name in table:
        if name not in known:
            import difflib  # only when a name is wrong

            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"{where} has an unknown key '{name}'.",
                f"{hint}Valid keys: {', '.join(sorted(known))}.",
            )


def _read_toml(path: Path, names: set[str]) -> dict[str, Any]:
    table = read_config_file(path).get("ferry", {})
    for name in table:
        if name in _ENV_ONLY:
            raise ConfigError(
                f"{path} sets '{name}': a key must not sit in a config file.",
                "Remove it; set FERRY_SSE_C_KEY or point 'sse_c_key_file' at a key file.",
            )
    check_keys(table, sorted(names - _ENV_ONLY), f"{path} [ferry]")
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
    if name == "sse_c_key":
        return value if isinstance(value, Secret) else Secret(str(value))
    if name == "endpoints":
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ConfigError(
            f"Setting '{name}' from {source} is {value!r}, not text.", f"Set '{name}' to a string."
        )
    if name == "endpoint_url":
        return _check_url(str(value), f"Setting 'endpoint_url' from {source}")
    return str(value)


def _check_url(url: str, what: str) -> str:
    """An endpoint URL must name its scheme: botocore would otherwise fail obscurely."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{what} is {url!r}, which has no http:// or https:// scheme.",
            f"Write it in full, for example http://{url.split('://')[-1]}.",
        )
    return url


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
