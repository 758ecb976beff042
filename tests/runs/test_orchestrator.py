"""Fault matrix cases 5 and 6: the orchestrator interrupted (Ctrl-C) or killed (kill -9)
mid-provision and mid-run; afterwards ``ferry sweep`` (or the next ``ferry run``) leaves
nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import assert_nothing_left, invoke
from tests.runs.test_run_e2e import report_of, setup_account

from ferry.devec2 import LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)
SCRIPT = Path(__file__).parent / "orchestrator.py"


def start(repo: Path, moto: LocalEc2Server, folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), moto.url, str(folder), *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ledger_lines(tmp_path: Path) -> list[dict[str, Any]]:
    lines = []
    for path in (tmp_path / "state" / "ferry" / "runs").glob("*.jsonl"):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def wait_until(
    check: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"orchestrator: {process.communicate()}")
        time.sleep(0.1)


def training_started(folder: Path) -> bool:
    return any(
        "accuracy" in p.read_text(errors="replace") for p in folder.glob("*/console.log")
    ) or any("phase train" in p.read_text(errors="replace") for p in folder.glob("*/console.log"))


def kill_instances(folder: Path) -> None:
    for pgid in folder.glob("*/pgid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pgid.read_text()), signal.SIGKILL)


def test_5_ctrl_c(
    project: Any, moto_server: LocalEc2Server, launcher: LocalLauncher, tmp_path: Path
) -> None:
    repo = project("--epochs 100 --sleep 0.2")
    setup_account(repo)
    folder = tmp_path / "orchestrated"
    process = start(repo, moto_server, folder)
    try:
        wait_until(lambda: training_started(folder), process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=90)
    finally:
        kill_instances(folder)
    report = report_of(out)
    assert process.returncode == 14, err
    assert report["state"] == "cancelled" and report["verification"]["passed"]
    assert report["left_count"] == 0
    assert_nothing_left(moto_server.url)


def test_6_killed_mid_provision_then_sweep(
    project: Any,
    moto_server: LocalEc2Server,
    launcher: LocalLauncher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FERRY_SSE_C_KEY", "a" * 64)
    repo = project("--epochs 100 --sleep 0.2")
    setup_account(repo)
    folder = tmp_path / "orchestrated"
    process = start(repo, moto_server, folder)
    try:
        wait_until(
            lambda: any(e.get("event") == "created" for e in ledger_lines(tmp_path)), process
        )
        process.kill()
        process.communicate(timeout=30)
        result = invoke(None, "sweep", "--yes", "--json", cwd=repo)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["reports"]
    finally:
        kill_instances(folder)
    assert_nothing_left(moto_server.url)


def test_6_killed_mid_run_then_next_run(
    project: Any, moto_server: LocalEc2Server, launcher: LocalLauncher, tmp_path: Path
) -> None:
    repo = project("--epochs 100 --sleep 0.2", final_wait="10s")
    setup_account(repo)
    folder = tmp_path / "orchestrated"
    process = start(repo, moto_server, folder)
    try:
        wait_until(lambda: training_started(folder), process)
        process.kill()
        process.communicate(timeout=30)
        (repo / "run.toml").write_text(
            (repo / "run.toml").read_text().replace("--epochs 100", "--epochs 1")
        )
        result = invoke(launcher, "run", "--yes", "--json", cwd=repo)
    finally:
        kill_instances(folder)
    assert result.exit_code == 0, result.output
    assert "leftovers of dead run" in result.stderr
    assert report_of(result.stdout)["left_count"] == 0
    assert_nothing_left(moto_server.url)
