"""``Rubicon(**storage_options)``: ferry's own settings, and rubicon-ml's (s3fs) options.

rubicon-ml passes its storage options to s3fs. ferry honours the s3fs options it has an
equivalent for, maps them to its settings, and accepts the others with one warning that
names them (a script written for rubicon-ml never fails on an option):

==========================================  ======================================
s3fs option                                 ferry
==========================================  ======================================
``key``, ``secret``, ``token``              explicit credentials
``profile``                                 ``profile``
``client_kwargs={"endpoint_url": ...}``     ``endpoint_url``
``client_kwargs={"region_name": ...}``      ``region``
``client_kwargs={"aws_access_key_id"...}``  explicit credentials
``s3_additional_kwargs={"StorageClass"}``   ``storage_class``
``anon=True``                               ``no_sign_request``: unsigned (public buckets)
==========================================  ======================================
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ferry.aws import StaticCredentials
from ferry.config import Settings

__all__ = ["StorageOptions", "storage_options"]

_CLIENT_KWARGS = {"endpoint_url": "endpoint_url", "region_name": "region"}
_CLIENT_KEYS = {
    "aws_access_key_id": "key",
    "aws_secret_access_key": "secret",
    "aws_session_token": "token",
}
_ALIASES = {"username": "key", "password": "secret"}


@dataclass
class StorageOptions:
    """What ``**storage_options`` amount to."""

    settings: dict[str, Any] = field(default_factory=dict)
    credentials: StaticCredentials | None = None
    ignored: list[str] = field(default_factory=list)


def _ferry_settings() -> set[str]:
    return {f.name for f in fields(Settings)} - {"sources"}


def storage_options(options: Mapping[str, Any]) -> StorageOptions:
    """Sort ``options`` into ferry settings, explicit credentials and ignored names, and
    warn once about the ignored ones."""
    result = StorageOptions()
    keys: dict[str, str] = {}
    known = _ferry_settings()
    for name, value in options.items():
        if name in known:
            result.settings[name] = value
        elif name in ("key", "secret", "token") or name in _ALIASES:
            keys[_ALIASES.get(name, name)] = value
        elif name == "anon":
            result.settings["no_sign_request"] = bool(value)
        elif name == "client_kwargs":
            _client_kwargs(value, result, keys)
        elif name == "s3_additional_kwargs":
            _additional_kwargs(value, result)
        else:
            result.ignored.append(name)
    result.credentials = _credentials(keys, result)
    if result.ignored:
        warnings.warn(
            "ferry ignores these storage options (s3fs options it has no equivalent for): "
            + ", ".join(result.ignored)
            + ". Settings ferry knows: "
            + ", ".join(sorted(known))
            + ".",
            stacklevel=3,
        )
    return result


def _client_kwargs(value: Any, result: StorageOptions, keys: dict[str, str]) -> None:
    for name, item in dict(value or {}).items():
        if name in _CLIENT_KWARGS:
            result.settings[_CLIENT_KWARGS[name]] = item
        elif name in _CLIENT_KEYS:
            keys[_CLIENT_KEYS[name]] = item
        else:
            result.ignored.append(f"client_kwargs.{name}")


def _additional_kwargs(value: Any, result: StorageOptions) -> None:
    for name, item in dict(value or {}).items():
        if name == "StorageClass":
            result.settings["storage_class"] = item
        else:
            result.ignored.append(f"s3_additional_kwargs.{name}")


def _credentials(keys: dict[str, str], result: StorageOptions) -> StaticCredentials | None:
    if not keys:
        return None
    if not (keys.get("key") and keys.get("secret")):
        result.ignored.append("key/secret (both are needed; the credential chain is used)")
        return None
    return StaticCredentials(keys["key"], keys["secret"], keys.get("token"))
