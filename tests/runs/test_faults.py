"""The fault matrix, cases 2-4 and 7-9, each end to end on the emulators; afterwards the
emulator holds no tagged instance that is not terminated, no volume, no per-run security
group and no SSM parameter. (Cases 5 and 6 kill the orchestrator: test_orchestrator.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import assert_nothing_left, aws_client, invoke
from tests.runs.test_run_e2e import report_of, setup_account
from tests.support.imds import FakeImds
from tests.support.s3proxy import S3Proxy

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


def run_json(launcher: LocalLauncher, repo: Path) -> tuple[int, dict[str, Any]]:
    setup_account(repo)
    result = invoke(launcher, "run", "--json", cwd=repo)
    return result.exit_code, report_of(result.stdout)


def pushed(bucket: str, url: str, prefix: str) -> list[str]:
    s3 = aws_client("s3", url)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_2_training_fails(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server, bucket: str
) -> None:
    code, report = run_json(launcher, project("--epochs 2 --exit-code 3"))
    assert code == 14 and report["state"] == "failed" and report["exit_code"] == 3
    assert report["verification"]["passed"]
    assert pushed(bucket, launcher.env["AWS_ENDPOINT_URL_S3"], "ws/checkpoints/ckpt-")
    assert pushed(
        bucket, launcher.env["AWS_ENDPOINT_URL_S3"], f"ws/runs/{report['run_id']}/logs/0/"
    )
    assert_nothing_left(moto_server.url)


def test_3_training_killed(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server, bucket: str
) -> None:
    code, report = run_json(launcher, project("--epochs 3 --kill-self-at 1"))
    assert code == 14 and report["state"] == "failed" and report["exit_code"] != 0
    assert report["verification"]["passed"]
    assert pushed(bucket, launcher.env["AWS_ENDPOINT_URL_S3"], "ws/checkpoints/ckpt-")
    assert_nothing_left(moto_server.url)


def test_4_training_hangs(
    project: Any, launcher: LocalLauncher, moto_server: LocalEc2Server
) -> None:
    repo = project("--epochs 3 --hang-at 1 --on-term ignore", max_runtime="4s", grace="1s")
    began = time.monotonic()
    code, report = run_json(launcher, repo)
    assert code == 14 and report["state"] == "timed-out"
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
        for target in (launcher.env, None):
            if target is not None:
                target["AWS_ENDPOINT_URL_S3"] = proxy.url
                target["FERRY_MAX_ATTEMPTS"] = "2"
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        monkeypatch.setenv("FERRY_MAX_ATTEMPTS", "2")
        repo = project("--epochs 2")
        cut = ",".join(f"/{bucket}/ws/{m}" for m in ("logs", "models", "checkpoints"))
        proxy.cut_on_first_put(f"/{bucket}/ws/logs", cut)
        code, report = run_json(launcher, repo)
        assert proxy.requests()["dropped"] > 0
    finally:
        proxy.stop()
    assert code == 14 and not report["verification"]["passed"]
    assert report["left_count"] == 0
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
    try:
        code, report = run_json(
            launcher, project("--epochs 50 --sleep 0.2", extra='market = "spot"\n')
        )
    finally:
        watcher.join(5)
        imds.stop()
    assert report["state"] == "interrupted" and code == 14
    assert pushed(bucket, launcher.env["AWS_ENDPOINT_URL_S3"], "ws/checkpoints/ckpt-")
    assert_nothing_left(moto_server.url)


class Ec2Faults:
    def __init__(self, upstream: str, lose: int, dependency: int, hide: int) -> None:
        script = Path(__file__).parents[1] / "support" / "ec2faults.py"
        self.process = subprocess.Popen(
            [sys.executable, str(script), upstream, str(lose), str(dependency), str(hide)],
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


def test_9_lost_answer_dependency_violation_invisible_instance(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ec2 = aws_client("ec2", moto_server.url)
    if not ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["dev-key"]}])[
        "KeyPairs"
    ]:
        ec2.create_key_pair(KeyName="dev-key")
    faults = Ec2Faults(moto_server.url, lose=1, dependency=2, hide=3)
    try:
        repo = project(
            "--epochs 1",
            extra='allow_ssh = true\nssh_cidr = "203.0.113.7/32"\nkey_name = "dev-key"\n',
        )
        setup_account(repo)
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", faults.url)
        result = invoke(launcher, "run", "--json", cwd=repo)
        report = report_of(result.stdout)
        counts = faults.counts()
    finally:
        faults.stop()
    assert counts["lost"] == 1 and counts["dependency"] == 2 and counts["hidden"] >= 1, counts
    assert result.exit_code == 0, result.output
    runs = ec2.describe_instances(Filters=[{"Name": "tag:ferry:run", "Values": [report["run_id"]]}])
    assert len([i for r in runs["Reservations"] for i in r["Instances"]]) == 1
    assert "security-group" in {d["kind"] for d in report["destroyed"]}
    assert_nothing_left(moto_server.url)
