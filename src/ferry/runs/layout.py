"""Names shared by both sides of a run: run ids, tags, SSM parameter names, S3 keys.

A run lives under ``<run root>/<run id>/`` in S3 (see the README's Runs section)::

    bundle/run.json            the resolved run config (no secrets)        dev machine
    bundle/ferry-<v>-py3-none-any.whl   ferry itself                       dev machine
    bundle/overrides/<path>    files written over the checkout             dev machine
    status.json                phase state machine (overwritten)           instance
    heartbeat.json             resources and latest metrics                instance
    heartbeats/<seq>.jsonl     every heartbeat, a line each (history)      instance
    logs/<rank>/<seq>.log      the training's output, create-only chunks   instance
    control/cancel             "please stop" (any content)                 dev machine
    manifest.json              what was pushed, with checksums             instance
    final.json                 the last thing the instance writes          instance
    report.json, report.txt    what teardown found and destroyed           dev machine
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from ferry.errors import ConfigError

__all__ = [
    "CANCEL",
    "FINAL",
    "FINAL_STATES",
    "HEARTBEAT",
    "HEARTBEATS",
    "LOGS",
    "MANIFEST",
    "PHASES",
    "RANKS",
    "REPORT_JSON",
    "REPORT_TXT",
    "RUN_JSON",
    "SECRET_NAMES",
    "STATUS",
    "TAG_EXPIRES",
    "TAG_OWNER",
    "TAG_RUN",
    "TRACKING",
    "check_name",
    "check_run_id",
    "client_token",
    "heartbeats_key",
    "log_key",
    "new_run_id",
    "override_key",
    "rank_key",
    "run_started",
    "ssm_name",
    "ssm_prefix",
    "wheel_key",
]

TAG_RUN = "ferry:run"
TAG_OWNER = "ferry:owner"
TAG_EXPIRES = "ferry:expires"

PHASES = ("boot", "checkout", "pull", "verify", "setup", "train", "push", "finish")
FINAL_STATES = ("succeeded", "failed", "interrupted", "cancelled", "timed-out")
SECRET_NAMES = ("sse-c-key", "git-token", "deploy-key")

RUN_JSON = "bundle/run.json"
STATUS = "status.json"
HEARTBEAT = "heartbeat.json"
HEARTBEATS = "heartbeats/"
LOGS = "logs/"
CANCEL = "control/cancel"
MANIFEST = "manifest.json"
FINAL = "final.json"
RANKS = "ranks/"
TRACKING = "tracking/"  # the training's ferry tracking root: <run url>tracking
REPORT_JSON = "report.json"
REPORT_TXT = "report.txt"

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,39}[a-z0-9])?$")
_RUN_ID = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)-(?P<time>\d{8}-\d{6})-(?P<hex>[0-9a-f]{6})$")
_TIME = "%Y%m%d-%H%M%S"
MAX_RUN_ID = 64
MAX_CLIENT_TOKEN = 64  # EC2's limit on ClientToken


def check_name(name: str) -> str:
    """A run name: lower-case letters, digits and dashes, at most 41 characters."""
    if not _NAME.match(name):
        raise ConfigError(
            f"Run name {name!r} is not allowed.",
            "Use lower-case letters, digits and '-' (at most 41, not starting or ending "
            "with '-'), for example name = \"resnet-baseline\".",
        )
    return name


def new_run_id(name: str, now: datetime | None = None, suffix: str | None = None) -> str:
    """``<name>-<YYYYmmdd-HHMMSS>-<6 hex>`` in UTC."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = f"{check_name(name)}-{when.strftime(_TIME)}-{suffix or secrets.token_hex(3)}"
    return check_run_id(run_id)


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a well-formed run id; otherwise raise ``ConfigError``."""
    if len(run_id) > MAX_RUN_ID or not _RUN_ID.match(run_id):
        raise ConfigError(
            f"{run_id!r} is not a run id.",
            "Run ids look like 'train-20250101-120000-a1b2c3'; list them with 'ferry runs ls'.",
        )
    return run_id


def run_started(run_id: str) -> datetime:
    """The UTC time encoded in a run id."""
    match = _RUN_ID.match(check_run_id(run_id))
    assert match is not None
    return datetime.strptime(match["time"], _TIME).replace(tzinfo=UTC)


def client_token(run_id: str, resource: str) -> str:
    """The idempotency token of one create call: ``<run id>/<resource>``.

    EC2 accepts at most 64 characters; a longer token keeps its start and ends in a hash
    of the whole, so it stays unique per run and resource.
    """
    token = f"{run_id}/{resource}"
    if len(token) <= MAX_CLIENT_TOKEN:
        return token
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{token[: MAX_CLIENT_TOKEN - 17]}~{digest}"


def ssm_prefix(run_id: str) -> str:
    """The SSM path under which a run's secrets live."""
    return f"/ferry/runs/{check_run_id(run_id)}/"


def ssm_name(run_id: str, secret: str) -> str:
    """The SSM SecureString parameter that holds one secret of a run."""
    if secret not in SECRET_NAMES:
        raise ConfigError(f"Unknown run secret {secret!r}.", f"Use one of {SECRET_NAMES}.")
    return ssm_prefix(run_id) + secret


def log_key(rank: int, seq: int) -> str:
    """The key of one log chunk."""
    return f"{LOGS}{rank}/{seq:08d}.log"


def heartbeats_key(seq: int) -> str:
    """The key of one chunk of the heartbeat history (rewritten until it is full)."""
    return f"{HEARTBEATS}{seq:08d}.jsonl"


def rank_key(rank: int) -> str:
    """The key of one rank's own status."""
    return f"{RANKS}{rank}.json"


def wheel_key(version: str) -> str:
    """The key of ferry's wheel in the bundle."""
    return f"bundle/ferry-{version}-py3-none-any.whl"


def override_key(path: str) -> str:
    """The key of a file written over the checkout at ``path``."""
    return f"bundle/overrides/{path}"
