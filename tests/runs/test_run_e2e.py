"""``ferry run`` end to end on the emulators: the success case of the fault matrix."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import assert_nothing_left, aws_client, run_ferry

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


STEP_MAKES = {"put-secret": "ssm-parameter", "run-instance": "instance"}


def assert_intent_before_each_create(folder: Path, run_id: str) -> None:
    """The ledger names each create call before it is made (with its client token), and
    the id it returned after."""
    lines = (folder / f"{run_id}.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    pending: list[str] = []
    for event in events:
        if event["event"] == "intent":
            assert event["token"].startswith(f"{run_id}/"), event
            pending.append(STEP_MAKES.get(event["kind"], event["kind"]))
        elif event["event"] == "created":
            assert event["kind"] in pending, (event, pending)  # no create without intent
            pending.remove(event["kind"])
    made = [e["kind"] for e in events if e["event"] == "created"]
    assert made == ["ssm-parameter", "instance"], made


def test_1_success(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = project("--epochs 3")
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(bytes(range(32))).decode())
    ran = run_ferry(launcher, repo)
    report = ran.report
    assert ran.code == 0, ran.why()
    assert report["state"] == "succeeded" and report["exit_code"] == 0
    assert report["verification"]["passed"] and report["verification"]["files"] > 0
    assert report["left_count"] == 0
    # The instance ended itself after final.json or ferry terminated it: either way it is
    # named, as are the run's secrets (its volumes too, when ferry saw them go).
    kinds = {d["kind"] for d in report["destroyed"]}
    assert {"instance", "ssm-parameter"} <= kinds <= {"instance", "ssm-parameter", "volume"}
    assert list(report["phases"])[:1] == ["boot"] and "train" in report["phases"]
    assert (
        "0 cost-generating resources left"
        in (repo.parent / "state/ferry/runs" / f"{report['run_id']}.report.txt").read_text()
    )
    assert_intent_before_each_create(repo.parent / "state/ferry/runs", report["run_id"])
    s3 = aws_client("s3", launcher.env["AWS_ENDPOINT_URL_S3"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="ws/")["Contents"]]
    assert any(k.startswith("ws/models/") for k in keys)
    assert any(k.startswith("ws/checkpoints/ckpt-") for k in keys)
    assert any(k.endswith("/report.txt") for k in keys)
    assert_nothing_left(moto_server.url)
