"""The fault matrix, cases 2-4 and 7-9, each end to end on the emulators; afterwards the
emulator holds no tagged instance that is not terminated, no volume, no per-run security
group and no SSM parameter. (Cases 1, 5 and 6: test_run_e2e.py and test_orchestrator.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import (
    Ran,
    assert_nothing_left,
    aws_client,
    invoke,
    leftovers,
    run_ferry,
)
from tests.support.imds import FakeImds
from tests.support.s3proxy import S3Proxy

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


def pushed(bucket: str, url: str, prefix: str) -> list[str]:
    s3 = aws_client("s3", url)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_2_training_fails(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server, bucket: str
) -> None:
    ran = run_ferry(launcher, project("--epochs 2 --exit-code 3"))
    report = ran.report
    assert ran.code == 14 and report["state"] == "failed" and report["exit_code"] == 3, ran.why()
    assert report["verification"]["passed"], ran.why()
    s3 = launcher.env["AWS_ENDPOINT_URL_S3"]
    assert pushed(bucket, s3, "ws/checkpoints/ckpt-")
    assert pushed(bucket, s3, f"ws/runs/{report['run_id']}/logs/0/")
    assert_nothing_left(moto_server.url)


def test_3_training_killed(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server, bucket: str
) -> None:
    ran = run_ferry(launcher, project("--epochs 3 --kill-self-at 1"))
    report = ran.report
    assert ran.code == 14 and report["state"] == "failed", ran.why()
    assert report["exit_code"] == 137 and report["verification"]["passed"], ran.why()
    assert pushed(bucket, launcher.env["AWS_ENDPOINT_URL_S3"], "ws/checkpoints/ckpt-")
    assert_nothing_left(moto_server.url)


def test_4_training_hangs_past_max_runtime(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server
) -> None:
    """The soft deadline: SIGTERM (ignored), SIGKILL after the grace, push, final.json,
    the instance shuts itself down. (The hard deadline: test_orchestrator.py.)"""
    repo = project("--epochs 3 --hang-at 1 --on-term ignore", max_runtime="4s", grace="1s")
    began = time.monotonic()
    ran = run_ferry(launcher, repo)
    assert ran.code == 14 and ran.report["state"] == "timed-out", ran.why()
    assert ran.report["verification"]["passed"], ran.why()
    assert time.monotonic() - began < 60
    assert_nothing_left(moto_server.url)


def test_7_s3_unreachable_during_push(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = S3Proxy(launcher.env["AWS_ENDPOINT_URL_S3"])
    try:
        launcher.env.update(AWS_ENDPOINT_URL_S3=proxy.url, FERRY_MAX_ATTEMPTS="2")
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setenv("FERRY_MAX_ATTEMPTS", "2")
        repo = project("--epochs 2")
        cut = ",".join(f"/{bucket}/ws/{m}" for m in ("logs", "models", "checkpoints"))
        proxy.cut_on_first_put(f"/{bucket}/ws/logs", cut)
        ran = run_ferry(launcher, repo)
        assert proxy.requests()["dropped"] > 0
    finally:
        proxy.stop()
    assert ran.code == 14 and not ran.report["verification"]["passed"], ran.why()
    assert ran.report["state"] == "failed" and ran.report["exit_code"] != 0, ran.why()
    assert ran.report["left_count"] == 0, ran.why()
    assert_nothing_left(moto_server.url)


def test_8_spot_interruption(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server, bucket: str
) -> None:
    imds = FakeImds()
    launcher.env["FERRY_IMDS_URL"] = imds.url
    s3 = aws_client("s3", launcher.env["AWS_ENDPOINT_URL_S3"])

    def interrupt_when_training() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix="ws/runs/").get("Contents", []):
                if "/logs/0/" in obj["Key"]:  # training has printed an epoch: it is under way
                    text = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    if b"accuracy" in text:
                        imds.interrupt(seconds=120)
                        return
            time.sleep(0.2)

    watcher = threading.Thread(target=interrupt_when_training, daemon=True)
    watcher.start()
    ran: Ran | None = None
    try:
        ran = run_ferry(launcher, project("--epochs 200 --sleep 0.2", extra='market = "spot"\n'))
    finally:
        watcher.join(5)
        imds.stop()
    assert ran.report["state"] == "interrupted" and ran.code == 14, ran.why()
    assert pushed(bucket, launcher.env["AWS_ENDPOINT_URL_S3"], "ws/checkpoints/ckpt-last")
    assert ran.report["verification"]["passed"], ran.why()
    assert_nothing_left(moto_server.url)


class Ec2Faults:
    def __init__(
        self,
        upstream: str,
        lose: int,
        dependency: int,
        hide: int,
        window: str = "0:0",
        deny: int = 0,
    ) -> None:
        script = Path(__file__).parents[1] / "support" / "ec2faults.py"
        args = [upstream, str(lose), str(dependency), str(hide), window, str(deny)]
        self.process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def counts(self) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/__counts__", timeout=5) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def with_dev_key(ec2: Any) -> Any:
    """``ec2``, once the key pair ``dev-key`` that the SSH runs name exists."""
    named = [{"Name": "key-name", "Values": ["dev-key"]}]
    if not ec2.describe_key_pairs(Filters=named)["KeyPairs"]:
        ec2.create_key_pair(KeyName="dev-key")
    return ec2


def test_9_lost_answer_dependency_violation_invisible_instance(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ec2 = with_dev_key(aws_client("ec2", moto_server.url))
    # Hidden: the 3 describe calls right after RunInstances, and every one 1 to 4 s after
    # it, while the run is followed: a run whose instance is not visible is not over.
    faults = Ec2Faults(moto_server.url, lose=1, dependency=2, hide=3, window="1:4")
    try:
        repo = project(
            "--epochs 1",
            extra='allow_ssh = true\nssh_cidr = "203.0.113.7/32"\nkey_name = "dev-key"\n',
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", faults.url)
        ran = run_ferry(launcher, repo)
        counts = faults.counts()
    finally:
        faults.stop()
    assert counts["lost"] == 1 and counts["dependency"] == 2 and counts["hidden"] >= 1, counts
    assert counts["hidden_later"] >= 3, counts  # the run was followed through the window
    assert ran.code == 0, ran.why()
    tag = [{"Name": "tag:ferry:run", "Values": [ran.report["run_id"]]}]
    runs = ec2.describe_instances(Filters=tag)["Reservations"]
    assert len([i for r in runs for i in r["Instances"]]) == 1
    assert "security-group" in {d["kind"] for d in ran.report["destroyed"]}
    assert_nothing_left(moto_server.url)


def test_10_a_delete_refused_is_reported_and_the_rest_torn_down(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The policy lacks ec2:DeleteSecurityGroup: that one resource stays, the teardown goes
    # on (the instance, the SSM parameters), the report names what is left, exit 15; a
    # sweep with the right to delete it ends the run.
    with_dev_key(aws_client("ec2", moto_server.url))
    faults = Ec2Faults(moto_server.url, lose=0, dependency=0, hide=0, deny=1000)
    try:
        repo = project(
            "--epochs 1",
            extra='allow_ssh = true\nssh_cidr = "203.0.113.7/32"\nkey_name = "dev-key"\n',
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", faults.url)
        ran = run_ferry(launcher, repo)
        counts = faults.counts()
    finally:
        faults.stop()
    assert counts["denied"] >= 1, (counts, ran.why())
    assert ran.code == 15, ran.why()
    assert [r.split()[0] for r in ran.report["left"]] == ["security-group"], ran.why()
    assert any("could not be deleted" in p for p in ran.report["problems"]), ran.why()
    assert "instance" in {d["kind"] for d in ran.report["destroyed"]}
    left = leftovers(moto_server.url)
    assert left["instances"] == [] and left["ssm_parameters"] == [], left
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", moto_server.url)
    swept = invoke(launcher, "sweep", "--yes", cwd=repo)
    assert swept.exit_code == 0, swept.stderr
    assert_nothing_left(moto_server.url)
