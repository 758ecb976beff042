"""``ferry runs ls|watch|logs|stop|report`` and ``ferry sweep`` against the emulators, over
one run whose ``ferry run`` was killed mid-training (so the commands are what is left)."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import (
    Orchestrator,
    assert_nothing_left,
    aws_client,
    invoke,
    report_of,
    setup_account,
)

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


def ok(*args: str, code: int = 0) -> str:
    result = invoke(None, *args)
    assert result.exit_code == code, (args, result.output)
    return result.stdout


KEY = base64.b64encode(bytes(range(100, 132))).decode()


def assert_created_safely(url: str, run_id: str) -> None:
    """What a live run made: tagged at creation, encrypted, deleted on termination, ending
    itself, IMDSv2, no key pair or address, and no secret in the user data."""
    ec2, ssm = aws_client("ec2", url), aws_client("ssm", url)
    mine = [{"Name": "tag:ferry:run", "Values": [run_id]}]
    (instance,) = [
        i for r in ec2.describe_instances(Filters=mine)["Reservations"] for i in r["Instances"]
    ]
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert {"ferry:run", "ferry:owner", "ferry:expires"} <= set(tags), tags
    expires = datetime.fromisoformat(tags["ferry:expires"].replace("Z", "+00:00"))
    assert expires > datetime.now(UTC)
    assert "KeyName" not in instance and instance["MetadataOptions"]["HttpTokens"] == "required"
    disks = instance["BlockDeviceMappings"]
    assert len(disks) == 2 and all(d["Ebs"]["DeleteOnTermination"] for d in disks), disks
    volumes = ec2.describe_volumes(VolumeIds=[d["Ebs"]["VolumeId"] for d in disks])["Volumes"]
    for volume in volumes:
        assert volume["Encrypted"], volume
        assert {t["Key"]: t["Value"] for t in volume["Tags"]}["ferry:run"] == run_id
    how = ec2.describe_instance_attribute(
        InstanceId=instance["InstanceId"], Attribute="instanceInitiatedShutdownBehavior"
    )
    assert how["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    script = base64.b64decode(data["UserData"]["Value"]).decode()
    commands = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert commands[0].startswith("shutdown -h +"), script  # the hard deadline comes first
    assert KEY not in script and "AWS_SECRET_ACCESS_KEY" not in script
    assert ec2.describe_addresses()["Addresses"] == []
    (secret,) = ssm.get_parameters_by_path(Path=f"/ferry/runs/{run_id}/")["Parameters"]
    assert secret["Type"] == "SecureString"
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=secret["Name"])
    assert {t["Key"]: t["Value"] for t in listed["TagList"]}["ferry:run"] == run_id


def test_runs_commands_over_an_orphaned_run(
    project: Any,
    moto_server: LocalEc2Server,
    launcher: LocalLauncher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FERRY_SSE_C_KEY", KEY)  # a secret for SSM, and an encrypted bus
    repo = project("--epochs 300 --sleep 0.2")
    setup_account(repo)
    assert ok("runs", "ls") == "run\tstate\tphase\tage\tcost\tleft\n"  # nothing yet
    run = Orchestrator(repo, moto_server, tmp_path / "orchestrated")
    try:
        run.wait_until(run.training_started)
        run.process.kill()
        run.process.communicate(timeout=30)
        (row,) = json.loads(ok("runs", "ls", "--json"))
        run_id = row["run_id"]
        assert row["state"] == "running" and row["phase"] == "train", row
        assert row["cost"].startswith("$") and row["left"] == ""
        assert f"{run_id}\trunning\ttrain\t" in ok("runs", "ls")
        assert_created_safely(moto_server.url, run_id)

        view = ok("runs", "watch", run_id, "--once")
        for expected in ("phase", "train (running)", "instance", "running, checks", "cpu"):
            assert expected in view, view
        assert "epoch" in ok("runs", "logs", run_id)

        listing = json.loads(ok("sweep", "--json"))  # shown, not removed
        assert listing["leftovers"][run_id]["verdict"] == "dead" and not listing["reports"]
        assert "instance" in " ".join(listing["leftovers"][run_id]["resources"])
        shown = invoke(None, "sweep")
        assert f"{run_id}\tdead\t" in shown.stdout and "ferry sweep --yes" in shown.stderr

        stopped = invoke(None, "runs", "stop", run_id, "--json")
        report = report_of(stopped.stdout)
        assert stopped.exit_code == 14, stopped.output  # cancelled is not a success
        assert report["state"] == "cancelled" and report["left_count"] == 0
        assert report["verification"]["passed"], report
        assert "asked the instance to stop (control/cancel)" in stopped.stderr
    finally:
        run.kill_instances()

    text = ok("runs", "report")  # the newest run
    assert text.startswith(f"ferry run {run_id}: cancelled") and "0 cost-generating" in text
    assert json.loads(ok("runs", "report", run_id, "--json"))["run_id"] == run_id
    assert "SIGTERM: checkpoint saved" in ok("runs", "logs", run_id, "-f")  # ends: final.json
    (row,) = json.loads(ok("runs", "ls", "--json"))
    assert row["state"] == "cancelled" and row["left"] == 0
    assert ok("sweep") == "nothing left by any run\n"

    again = invoke(None, "runs", "stop", run_id, "--json")  # safe to repeat
    assert report_of(again.stdout)["left_count"] == 0 and again.exit_code == 14
    assert_nothing_left(moto_server.url)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("runs", "report", "train-20250101-120000-a1b2c3"), 5, "ferry runs stop"),
        (("runs", "logs", "train-20250101-120000-a1b2c3"), 3, "ferry runs ls"),
        (("runs", "watch", "not-a-run"), 3, "is not a run id"),
        (("runs", "stop", "../../etc"), 3, "is not a run id"),
        (("runs", "report", "../x"), 3, "is not a run id"),
        (("runs", "report"), 5, "Start one with 'ferry run'"),
        (("runs", "logs"), 5, "Start one with 'ferry run'"),
    ],
)
def test_unknown_runs_are_refused_with_a_fix(
    aws_env: dict[str, str], args: tuple[str, ...], code: int, message: str
) -> None:
    result = invoke(None, *args)
    assert result.exit_code == code and message in result.stderr, result.output
    assert "Traceback" not in result.output


def test_emit_skypilot_writes_a_task_and_creates_nothing_in_ec2(
    project: Any, moto_server: LocalEc2Server, bucket: str
) -> None:
    """``--emit skypilot``: the bundle goes to S3, the task (for SkyPilot's own cluster) to
    stdout; ferry provisions nothing itself (SkyPilot's parser checks the task:
    tests/runs/executor/test_skypilot.py)."""
    repo = project("--epochs 1")
    result = invoke(None, "run", "--emit", "skypilot", "--nodes", "2", cwd=repo)
    assert result.exit_code == 0, result.output
    assert "num_nodes: 2" in result.stdout and "ferry exec" in result.stdout
    assert "down: true" in result.stdout
    s3 = aws_client("s3", os.environ["AWS_ENDPOINT_URL_S3"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="ws/runs/")["Contents"]]
    assert any(k.endswith("/bundle/run.json") for k in keys)
    assert any(k.endswith("-py3-none-any.whl") for k in keys)
    assert_nothing_left(moto_server.url)  # no instance, volume, group or secret


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('deploy_key_file = "/nonexistent/key"\n', "deploy_key_file /nonexistent/key cannot"),
        ('git_token_env = "FERRY_TEST_NO_TOKEN"\n', "export FERRY_TEST_NO_TOKEN=<token>"),
        ("budget = 0.0001\n", "Lower max_runtime, pick a cheaper instance_type"),
        ('pull = ["datasets"]\n', "names the mapping 'datasets', which the workspace lacks"),
        ('instance_typo = "x"\n', "Did you mean 'instance_type'?"),
    ],
)
def test_run_file_problems_stop_ferry_run_before_anything_is_made(
    project: Any, moto_server: LocalEc2Server, tmp_path: Path, extra: str, message: str
) -> None:
    repo = project("--epochs 1", extra=extra)
    result = invoke(None, "run", cwd=repo)
    assert result.exit_code == 3 and message in result.stderr, result.output
    assert not list((tmp_path / "state").glob("ferry/runs/*.jsonl"))  # not even a ledger
    assert_nothing_left(moto_server.url)
