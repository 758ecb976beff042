"""``ferry run --emit skypilot``: a SkyPilot task that runs ``ferry exec`` on every node.

When one machine is not enough, ferry does not provision a cluster (that is where peers
leak); SkyPilot does, and ferry runs on each node under it. The task:

- asks for ``num_nodes`` AWS machines of the run's region, instance type, disk and market
  (``use_spot``), with ``autostop: {idle_minutes, down: true}`` so the cluster tears
  itself down once the job is over, with no laptop alive;
- installs ferry in ``setup`` from the run's bundle wheel (a presigned GET: no
  credentials, no aws CLI);
- calls ``ferry exec`` in ``run``: each node reads its rank from ``SKYPILOT_NODE_RANK``
  and ``SKYPILOT_NUM_NODES``; rank 0 pushes models and checkpoints.

The nodes need the same rights as ferry's own instance role (the run's S3 prefix and, if
the run has secrets, ``ssm:GetParameter`` on ``/ferry/runs/<run id>/*``). YAML is written
by hand (strings quoted as JSON, which YAML reads as double-quoted scalars), so ferry
needs no YAML library; SkyPilot's own parser checks the result in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ferry.errors import ConfigError
from ferry.runs.executor.boot import endpoint_env
from ferry.runs.runconfig import RunConfig

__all__ = ["task_yaml"]

# pip takes the presigned URL itself (the wheel's name is the URL's path, before the query).
SETUP = """set -euo pipefail
python3 -m venv "$HOME/ferry-venv"
"$HOME/ferry-venv/bin/python" -m pip install --quiet "$FERRY_WHEEL_URL"
"""
RUN = """set -euo pipefail
exec "$HOME/ferry-venv/bin/python" -m ferry exec "$FERRY_RUN_URL" \\
  --workdir "$HOME/ferry-runs/$FERRY_RUN_ID"
"""


def task_yaml(
    config: RunConfig,
    run_url: str,
    nodes: int,
    *,
    wheel_url: str,
    instance_type: str | None = None,
    disk_gb: int | None = None,
    idle_minutes: int = 5,
) -> str:
    """The SkyPilot task YAML for ``config`` on ``nodes`` machines.

    Args:
        config: the run (its bundle is already in ``run_url``).
        run_url: the run's prefix, ``s3://bucket/<run root>/<run id>/``.
        nodes: how many machines (each runs one ``ferry exec``).
        wheel_url: a presigned GET URL of the bundle's ferry wheel.
        instance_type: the AWS instance type, or None to let SkyPilot choose.
        disk_gb: the root disk size, or None for SkyPilot's default.
        idle_minutes: how long the cluster may sit idle before it tears itself down.
    """
    if nodes < 1 or idle_minutes < 0:
        raise ConfigError(
            f"A SkyPilot task needs at least one node and idle minutes >= 0 (got {nodes}, "
            f"{idle_minutes}).",
            "Pass --nodes 1 or more.",
        )
    resources: dict[str, Any] = {"cloud": "aws", "region": config.region}
    if instance_type:
        resources["instance_type"] = instance_type
    resources["use_spot"] = config.market == "spot"
    if disk_gb:
        resources["disk_size"] = disk_gb
    resources["autostop"] = {"idle_minutes": idle_minutes, "down": True}
    task = {
        "name": config.run_id,
        "num_nodes": nodes,
        "resources": resources,
        "envs": _envs(config, run_url, wheel_url),
        "setup": SETUP,
        "run": RUN,
    }
    header = f"# ferry run {config.run_id}: SkyPilot provisions, each node runs 'ferry exec'.\n"
    return header + "".join(_lines(task, 0))


def _envs(config: RunConfig, run_url: str, wheel_url: str) -> dict[str, str]:
    envs = {
        "FERRY_RUN_ID": config.run_id,
        "FERRY_RUN_URL": run_url.rstrip("/") + "/",
        "FERRY_WHEEL_URL": wheel_url,
        "AWS_DEFAULT_REGION": config.region,
    }
    return {**envs, **endpoint_env(config.endpoints)}


def _lines(value: Mapping[str, Any], indent: int) -> list[str]:
    """Block-style YAML for a mapping of mappings, scalars and multi-line strings."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            lines.append(f"{pad}{key}:\n")
            lines += _lines(item, indent + 1)
        elif isinstance(item, str) and "\n" in item:
            body = "".join(f"{pad}  {line}\n" if line else "\n" for line in item.splitlines())
            lines.append(f"{pad}{key}: |\n{body}")
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}\n")
    return lines


def _scalar(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    return json.dumps(str(item))
