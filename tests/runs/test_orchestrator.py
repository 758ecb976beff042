"""Fault matrix cases 4 (hard deadline), 5 and 6: the orchestrator interrupted (Ctrl-C) or
killed (kill -9) mid-provision and mid-run; afterwards ``ferry sweep`` (or the next
``ferry run``) leaves nothing, and an instance nobody watches ends itself."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import (
    Orchestrator,
    assert_nothing_left,
    aws_client,
    consoles,
    invoke,
    leftovers,
    report_of,
    setup_account,
)

from ferry.devec2 import MARK, LocalEc2Server, LocalLauncher

pytestmark = pytest.mark.timeout(120)


def instance_processes(folder: Path) -> list[str]:
    """Processes still running of the local instances under ``folder`` (a power-off must
    end them all, whatever their session)."""
    marks = [f"\0{MARK}={home.name}\0".encode() for home in folder.glob("i-*")]
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if any(mark in b"\0" + environ.read_bytes() for mark in marks):
                found.append((environ.parent / "cmdline").read_text().replace("\0", " "))
        except OSError:
            continue
    return found


def ledger_lines(tmp_path: Path) -> list[dict[str, Any]]:
    lines = []
    for path in (tmp_path / "state" / "ferry" / "runs").glob("*.jsonl"):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def test_5_ctrl_c(
    project: Any, moto_server: LocalEc2Server, launcher: LocalLauncher, tmp_path: Path
) -> None:
    repo = project("--epochs 300 --sleep 0.2")
    setup_account(repo)
    run = Orchestrator(repo, moto_server, tmp_path / "orchestrated")
    try:
        run.wait_until(run.training_started)
        for pause in (0.3, 0.3, 0):  # impatient: Ctrl-C twice more during the teardown
            run.process.send_signal(signal.SIGINT)
            time.sleep(pause)
        out, err = run.process.communicate(timeout=90)
    finally:
        run.kill_instances()
    report = report_of(out)
    why = f"{err}\n{consoles(run.folder)}"
    assert "Ctrl-C is ignored until that ends" in err, why
    assert run.process.returncode == 14, why
    assert report["state"] == "cancelled" and report["verification"]["passed"], why
    assert report["left_count"] == 0, why
    assert_nothing_left(moto_server.url)


def test_6_killed_mid_provision_then_sweep(
    project: Any,
    moto_server: LocalEc2Server,
    launcher: LocalLauncher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FERRY_SSE_C_KEY", "a" * 64)
    repo = project("--epochs 300 --sleep 0.2")
    setup_account(repo)
    run = Orchestrator(repo, moto_server, tmp_path / "orchestrated")
    try:
        # The secret exists, the instance may or may not: killed between two create calls.
        run.wait_until(lambda: any(e.get("event") == "created" for e in ledger_lines(tmp_path)))
        run.process.kill()
        run.process.communicate(timeout=30)
        assert leftovers(moto_server.url)["ssm_parameters"]
        result = invoke(None, "sweep", "--yes", "--json", cwd=repo)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["reports"]
    finally:
        run.kill_instances()
    assert_nothing_left(moto_server.url)


def test_6_killed_mid_run_then_next_run(
    project: Any, moto_server: LocalEc2Server, launcher: LocalLauncher, tmp_path: Path
) -> None:
    repo = project("--epochs 300 --sleep 0.2", final_wait="10s")
    setup_account(repo)
    run = Orchestrator(repo, moto_server, tmp_path / "orchestrated")
    try:
        run.wait_until(run.training_started)
        run.process.kill()
        run.process.communicate(timeout=30)
        first = leftovers(moto_server.url)["instances"]
        assert len(first) == 1, first  # the orphan: running, with no dev machine watching
        (repo / "run.toml").write_text(
            (repo / "run.toml").read_text().replace("--epochs 300", "--epochs 1")
        )
        result = invoke(launcher, "run", "--yes", "--json", cwd=repo)
    finally:
        run.kill_instances()
    why = f"{result.output}\n{consoles(run.folder)}\n{consoles(launcher.folder)}"
    assert result.exit_code == 0, why
    assert "leftovers of dead run" in result.stderr, why
    assert report_of(result.stdout)["left_count"] == 0, why
    ec2 = aws_client("ec2", moto_server.url)
    ended = ec2.describe_instances(InstanceIds=first)["Reservations"][0]["Instances"][0]
    assert ended["State"]["Name"] == "terminated"
    assert_nothing_left(moto_server.url)


def test_4_hung_instance_ends_itself_with_no_dev_machine(
    project: Any, moto_server: LocalEc2Server, launcher: LocalLauncher, tmp_path: Path
) -> None:
    """The hard deadline, set first by the user data: training hangs long before its soft
    deadline, the orchestrator is killed, nothing sweeps; the instance terminates itself
    and its volumes go with it (DeleteOnTermination). One instance minute lasts 1 s:
    max runtime 5 min + grace 3 s gives 'shutdown -h +11', 11 s after boot."""
    repo = project("--epochs 3 --hang-at 1 --on-term ignore", max_runtime="5m")
    setup_account(repo)
    run = Orchestrator(repo, moto_server, tmp_path / "orchestrated", minute_s=1.0)
    try:
        run.wait_until(lambda: bool(leftovers(moto_server.url)["volumes"]))  # launched
        run.wait_until(run.training_started)
        run.process.kill()
        run.process.communicate(timeout=30)
        deadline = time.monotonic() + 40
        while leftovers(moto_server.url)["instances"] and time.monotonic() < deadline:
            time.sleep(0.5)
        console = consoles(run.folder)
        time.sleep(1)  # the power-off kills synchronously; a moment for the last exits
        survivors = instance_processes(run.folder)  # before the clean-up below kills them
    finally:
        run.kill_instances()
    assert "shutdown scheduled +11" in console, console
    assert "ferry exec exited" not in console, console  # it never ended on its own
    assert not survivors, f"the power-off left processes of the instance: {survivors}"
    assert_nothing_left(moto_server.url)
