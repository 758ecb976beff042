"""The instance's user data: a bash script whose first act is the hard deadline.

It holds no secret (user data is readable through the API): the wheel comes from a
presigned URL, secrets from SSM. Three variables exist only for the local launcher of
tests and the demo: ``FERRY_EXEC_PYTHON`` (a Python that already has ferry: skip the
install), ``FERRY_EXEC_WORKDIR`` and ``FERRY_IMDS_URL``.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping

__all__ = ["deadline_minutes", "user_data"]


def deadline_minutes(max_runtime_s: float, grace_s: float) -> int:
    """``shutdown -h +N``: the run's time, its grace period, and five minutes to push."""
    return math.ceil((max_runtime_s + grace_s) / 60) + 5


def _exports(region: str, endpoints: Mapping[str, str]) -> list[str]:
    lines = [f"export AWS_DEFAULT_REGION={shlex.quote(region)} AWS_REGION={shlex.quote(region)}"]
    for service, url in sorted(endpoints.items()):
        name = f"AWS_ENDPOINT_URL_{service.upper()}" if service else "AWS_ENDPOINT_URL"
        lines.append(f"export {name}={shlex.quote(url)}")
    return lines


def user_data(
    *,
    run_id: str,
    run_url: str,
    wheel_url: str,
    wheel_name: str,
    region: str,
    endpoints: Mapping[str, str],
    max_runtime_s: float,
    grace_s: float,
    version: str,
) -> str:
    """The script EC2 runs at first boot (as root)."""
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"# ferry {version}, run {run_id}. Holds no secrets.",
        f"shutdown -h +{deadline_minutes(max_runtime_s, grace_s)} || true  # hard deadline, first",
        "set -u",
        *_exports(region, endpoints),
        'PY="${FERRY_EXEC_PYTHON:-}"',
        'if [ -z "$PY" ]; then',
        "  mkdir -p /opt/ferry && cd /opt/ferry",
        f"  WHEEL={q(wheel_name)}",
        f"  URL={q(wheel_url)}",
        '  curl -fsS --retry 5 -o "$WHEEL" "$URL" || python3 -c '
        "'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "
        '"$URL" "$WHEEL"',
        "  if python3 -m venv /opt/ferry/venv; then PY=/opt/ferry/venv/bin/python; "
        "else PY=python3; fi",
        '  "$PY" -m pip install -q "./$WHEEL" || "$PY" -m pip install -q '
        '--break-system-packages "./$WHEEL"',
        "fi",
        f'ARGS=(exec {q(run_url)} --workdir "${{FERRY_EXEC_WORKDIR:-/opt/ferry/run}}")',
        'if [ -n "${FERRY_IMDS_URL:-}" ]; then ARGS+=(--imds-url "$FERRY_IMDS_URL"); fi',
        '"$PY" -m ferry "${ARGS[@]}"',
        'echo "ferry exec exited with $?"',
        "shutdown -h now",
        "",
    ]
    return "\n".join(lines)
