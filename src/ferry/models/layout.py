"""modelstore's storage layout (0.0.81), as keys under a store's root.

::

    operatorai-model-store/domains/<domain>.json                   the domain's latest record
    operatorai-model-store/<domain>/versions/<model_id>.json        a model's record
    operatorai-model-store/<domain>/versions/<state>/<model_id>.json  the model is in <state>
    operatorai-model-store/<domain>/<YYYY.MM.DD-HH.MM.SS>/<model_id>/artifacts.tar.gz
    operatorai-model-store/model_states/<state>.json                a state exists

A record names its archive by where it was written (``storage.prefix``: the full S3 key;
``storage.path``: an absolute file path). ferry reads the part from
``operatorai-model-store/`` on, so a store still works after it was moved to another
folder, prefix or bucket, or copied between disk and S3 (modelstore refuses another bucket).
"""

from __future__ import annotations

import re
from datetime import datetime

from ferry.errors import ConfigError

__all__ = [
    "ARCHIVE",
    "DELETED",
    "ROOT",
    "archive_key",
    "archive_key_from_location",
    "check_domain",
    "check_model_id",
    "check_state_name",
    "domain_key",
    "domains_prefix",
    "is_reserved_state",
    "state_key",
    "states_prefix",
    "version_key",
    "versions_prefix",
]

ROOT = "operatorai-model-store"
ARCHIVE = "artifacts.tar.gz"
DELETED = "modelstore-deleted"  # the state modelstore keeps deleted models' records in
_RESERVED_DOMAINS = {"versions", "domains", "modelstore", ROOT, "model_states"}
# modelstore refuses these in ids (they break paths on some systems), and spaces.
_BAD_ID = re.compile(r'[<>:"/\\|?*#^`%~{}\[\] ]')


def domains_prefix() -> str:
    return f"{ROOT}/domains/"


def domain_key(domain: str) -> str:
    return f"{ROOT}/domains/{domain}.json"


def versions_prefix(domain: str, state_name: str | None = None) -> str:
    return f"{ROOT}/{domain}/versions/" + (f"{state_name}/" if state_name else "")


def version_key(domain: str, model_id: str, state_name: str | None = None) -> str:
    return f"{versions_prefix(domain, state_name)}{model_id}.json"


def states_prefix() -> str:
    return f"{ROOT}/model_states/"


def state_key(state_name: str) -> str:
    return f"{ROOT}/model_states/{state_name}.json"


def archive_key(domain: str, model_id: str, when: datetime) -> str:
    return f"{ROOT}/{domain}/{when:%Y.%m.%d-%H.%M.%S}/{model_id}/{ARCHIVE}"


def archive_key_from_location(location: str) -> str | None:
    """The archive's key under the store root, from a record's ``prefix`` or ``path``."""
    marker = f"{ROOT}/"
    at = location.replace("\\", "/").rfind(marker)
    return location[at:] if at >= 0 else None


def is_reserved_state(state_name: str) -> bool:
    return state_name == DELETED


def check_domain(domain: str) -> str:
    """``domain`` if modelstore's layout can hold it, else a ``ConfigError``."""
    if not isinstance(domain, str) or not domain or domain in _RESERVED_DOMAINS:
        raise ConfigError(
            f"Invalid domain name {domain!r}.",
            f"Use a non-empty name other than {', '.join(sorted(_RESERVED_DOMAINS))}.",
        )
    _check_segment(domain, "domain")
    return domain


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id or _BAD_ID.search(model_id):
        raise ConfigError(
            f"model_id='{model_id}' contains invalid characters.",
            "Use letters, digits, '-', '_' and '.' (no spaces, '/', ':' or brackets).",
        )
    _check_segment(model_id, "model id")
    return model_id


def check_state_name(state_name: str) -> str:
    """A name ``create_model_state`` accepts (modelstore: 3+ characters, no '/')."""
    if not isinstance(state_name, str) or len(state_name) < 3 or is_reserved_state(state_name):
        raise ConfigError(
            f"Cannot create state with name: {state_name!r}.",
            f"Use 3 or more characters, other than the reserved {DELETED!r}.",
        )
    _check_segment(state_name, "state")
    return state_name


def _check_segment(name: str, what: str) -> None:
    if "/" in name or "\\" in name or name.startswith(".") or any(ord(c) < 32 for c in name):
        raise ConfigError(
            f"Invalid {what} name {name!r}.",
            "Use a name without '/' or control characters, not starting with '.'.",
        )
