"""``ferry run`` end to end on the emulators: the success case of the fault matrix."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import assert_nothing_left, aws_client, invoke

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


def setup_account(cwd: Path) -> None:
    result = invoke(None, "runs", "setup", cwd=cwd)
    assert result.exit_code == 0, result.output


def report_of(output: str) -> dict[str, Any]:
    return json.loads(output[output.index("{") :])


def test_success(
    project: Any,
    launcher: LocalLauncher,
    moto_server: LocalEc2Server,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = project("--epochs 3")
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(bytes(range(32))).decode())
    setup_account(repo)
    result = invoke(launcher, "run", "--json", cwd=repo)
    report = report_of(result.stdout)
    assert result.exit_code == 0, result.output
    assert report["state"] == "succeeded" and report["exit_code"] == 0
    assert report["verification"]["passed"] and report["verification"]["files"] > 0
    assert report["left_count"] == 0
    assert {d["kind"] for d in report["destroyed"]} == {"instance", "ssm-parameter"}
    assert list(report["phases"])[:1] == ["boot"] and "train" in report["phases"]
    assert (
        "0 cost-generating resources left"
        in (repo.parent / "state/ferry/runs" / f"{report['run_id']}.report.txt").read_text()
    )
    s3 = aws_client("s3", launcher.env["AWS_ENDPOINT_URL_S3"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="ws/")["Contents"]]
    assert any(k.startswith("ws/models/") for k in keys)
    assert any(k.startswith("ws/checkpoints/ckpt-") for k in keys)
    assert any(k.endswith("/report.txt") for k in keys)
    assert_nothing_left(moto_server.url)
