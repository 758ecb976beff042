"""``ferry run --emit skypilot``: the task is read by SkyPilot's own parser (SkyPilot in a
venv of its own under .tools/, run as a subprocess), and the ``run`` block SkyPilot parsed
is executed as each of two nodes would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TOOLS
from tests.runs.executor.conftest import MakeRun

from ferry.devserver import ensure_tool
from ferry.errors import ConfigError
from ferry.runs import layout
from ferry.runs.executor.skypilot import task_yaml
from ferry.runs.runconfig import RunConfig, WorkspaceConfig

SKYPILOT = ("skypilot==0.14.1",)  # pins click and awscli: never in ferry's own venv
# SkyPilot checks an instance type against its AWS catalog, which it would download; the
# test gives it a one-row catalog instead (the columns of sky/catalog/data_fetchers/fetch_aws.py).
CATALOG = (
    "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,"
    "Region,AvailabilityZone,Arch,LocalDiskType,NVMeSupported,LocalDiskSize,LocalDiskCount,"
    "MaximumEfaInterfaces\n"
    "g5.xlarge,A10G,1,4.0,16.0,,1.006,0.3018,us-east-1,use1-az1,x86_64,,False,,,0\n"
)
PARSE = """
import json, sys
import sky
task = sky.Task.from_yaml(sys.argv[1])
(r,) = task.resources
a = r.autostop_config
print(json.dumps({
    "name": task.name, "num_nodes": task.num_nodes, "cloud": str(r.cloud),
    "region": r.region, "instance_type": r.instance_type, "use_spot": r.use_spot,
    "disk_size": r.disk_size, "accelerators": r.accelerators,
    "autostop": {"enabled": a.enabled, "idle_minutes": a.idle_minutes, "down": a.down},
    "envs": task.envs, "setup": task.setup, "run": task.run,
}))
"""


def _config() -> RunConfig:
    return RunConfig(
        run_id="x-20250101-000000-abcdef",
        ferry_version="0.1.0",
        region="us-east-1",
        workspace=WorkspaceConfig("s3://b/ws", ()),
        train="true",
        max_runtime_s=60,
        grace_s=5,
    )


@pytest.fixture(scope="session")
def sky_python() -> Path:
    return ensure_tool("skypilot", SKYPILOT, TOOLS) / "python"


def parse(sky_python: Path, text: str, home: Path) -> subprocess.CompletedProcess[str]:
    """SkyPilot's ``Task.from_yaml`` on ``text``, offline, with no AWS credentials."""
    catalog = home / ".sky" / "catalogs" / "v8" / "aws"
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / "vms.csv").write_text(CATALOG)
    (home / "task.yaml").write_text(text)
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
    }
    return subprocess.run(
        [str(sky_python), "-c", PARSE, str(home / "task.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
    )


def test_skypilot_parses_the_task_and_each_node_runs_ferry_exec(
    make_run: MakeRun, sky_python: Path, tmp_path: Path
) -> None:
    run = make_run(train="python train.py --epochs 2", market="spot")
    wheel_url = "https://bucket.s3.amazonaws.com/ferry-0.1.0-py3-none-any.whl?X-Amz-Signature=a&b=c"
    text = task_yaml(
        run.config, run.run_url, 2, wheel_url=wheel_url, instance_type="g5.xlarge", disk_gb=120
    )
    parsed = parse(sky_python, text, tmp_path / "sky")
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    task: dict[str, Any] = json.loads(parsed.stdout.strip().splitlines()[-1])
    assert task["name"] == run.config.run_id and task["num_nodes"] == 2
    assert (task["cloud"], task["region"], task["instance_type"]) == (
        "AWS",
        "us-east-1",
        "g5.xlarge",
    )
    assert task["use_spot"] is True and task["disk_size"] == 120
    assert task["accelerators"] == {"A10G": 1}  # SkyPilot looked the type up in its catalog
    assert task["autostop"] == {"enabled": True, "idle_minutes": 5, "down": True}
    assert task["envs"]["FERRY_WHEEL_URL"] == wheel_url
    assert task["envs"]["FERRY_RUN_URL"] == run.run_url
    assert "pip install" in task["setup"] and '"$FERRY_WHEEL_URL"' in task["setup"]
    # Each node runs the run block SkyPilot parsed, with SkyPilot's variables.
    nodes = []
    for rank in (0, 1):
        home = tmp_path / f"node{rank}"
        venv_bin = home / "ferry-venv" / "bin"
        venv_bin.mkdir(parents=True)
        (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (venv_bin / "python").chmod(0o755)
        env = {
            **run.env,
            **task["envs"],
            "HOME": str(home),
            "SKYPILOT_NODE_RANK": str(rank),
            "SKYPILOT_NUM_NODES": "2",
        }
        nodes.append(
            subprocess.Popen(
                ["bash", "-c", task["run"]],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        )
    outputs = [node.communicate(timeout=90)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    for rank in (0, 1):
        assert run.json(layout.rank_key(rank))["world_size"] == 2
        assert "(SkyPilot)" in run.log(rank)
        assert (tmp_path / f"node{rank}" / "ferry-runs" / run.config.run_id / "repo").is_dir()
    assert run.json(layout.FINAL)["state"] == "succeeded"
    assert "IMDS" not in run.log(0)  # spot, but EC2 metadata is disabled here: never asked


def test_skypilot_rejects_what_it_does_not_know(sky_python: Path, tmp_path: Path) -> None:
    """The parser is a real check: a misspelt field fails it."""
    config = _config()
    text = task_yaml(config, "s3://b/ws/runs/x/", 1, wheel_url="https://w/ferry.whl")
    parsed = parse(sky_python, text.replace("num_nodes:", "num_node:"), tmp_path)
    assert parsed.returncode != 0 and "num_node" in parsed.stderr


def test_node_count_must_be_positive() -> None:
    config = _config()
    with pytest.raises(ConfigError, match="at least one node"):
        task_yaml(config, "s3://b/r/", 0, wheel_url="https://w")
