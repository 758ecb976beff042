"""The run ledger: append-only JSONL, one fsynced line per event, torn lines survived."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ferry.errors import ConfigError
from ferry.runs.ledger import Ledger, process_start

RUN = "train-20250101-120000-a1b2c3"


def test_lines_are_appended_in_order_and_folded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.start(RUN, run_url="s3://b/ws/runs/x/")
    ledger.append(RUN, "intent", kind="run-instance", token=f"{RUN}/instance")
    ledger.append(RUN, "created", kind="instance", id="i-1")
    ledger.append(RUN, "created", kind="ssm-parameter", id="/ferry/runs/x/sse-c-key")
    ledger.append(RUN, "teardown-done", left=1)
    record = ledger.read(RUN)
    assert [e["event"] for e in record.events] == [
        "start",
        "intent",
        "created",
        "created",
        "teardown-done",
    ]
    assert record.start["run_url"] == "s3://b/ws/runs/x/" and record.start["pid"] == os.getpid()
    assert record.created == {"instance": ["i-1"], "ssm-parameter": ["/ferry/runs/x/sse-c-key"]}
    # a finished teardown ends the run, even with one resource left (a sweep may remove
    # it now, though the process that ran it lives on: a notebook's kernel)
    assert record.torn_down
    other = "train-20250101-120000-ffffff"
    ledger.append(other, "start")
    assert not ledger.read(other).torn_down  # no teardown yet
    assert oct(ledger.path(RUN).stat().st_mode & 0o777) == "0o600"


def test_a_line_torn_by_a_crash_is_skipped_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(RUN, "intent", kind="run-instance")
    with open(ledger.path(RUN), "ab") as file:  # a crash in the middle of a write
        file.write(b'{"time": "2025-01-01T12:00:01", "event": "crea')
    assert [e["event"] for e in ledger.read(RUN).events] == ["intent"]
    ledger.append(RUN, "created", kind="instance", id="i-1")
    record = ledger.read(RUN)
    assert [e["event"] for e in record.events] == ["intent", "created"]
    assert record.created == {"instance": ["i-1"]}


def test_every_acknowledged_line_survives_kill_9_of_the_writer(tmp_path: Path) -> None:
    """A writer killed at a random point leaves whole lines, then at most one torn one."""
    code = (
        "import sys; from pathlib import Path; from ferry.runs.ledger import Ledger\n"
        "ledger = Ledger(Path(sys.argv[1]))\n"
        "for n in range(100000):\n"
        f"    ledger.append({RUN!r}, 'tick', n=n, pad='x' * 3000)\n"
        "    print(n, flush=True)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    acknowledged = [writer.stdout.readline() for _ in range(30)]
    writer.kill()
    writer.wait()
    writer.stdout.close()
    ticks = [e["n"] for e in Ledger(tmp_path).read(RUN).events]
    assert ticks == list(range(len(ticks))) and len(ticks) >= len(acknowledged)


def test_run_ids_newest_first_and_unknown_runs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "none")
    assert ledger.run_ids() == []
    for run_id in (
        "b-20250102-000000-000001",
        "my-run-20250103-000000-000002",
        "a-20250101-000000-000003",
    ):
        ledger.append(run_id, "start")
    assert ledger.run_ids() == [
        "my-run-20250103-000000-000002",
        "b-20250102-000000-000001",
        "a-20250101-000000-000003",
    ]
    with pytest.raises(ConfigError, match="ferry runs ls"):
        ledger.read("c-20250101-000000-000004")
    with pytest.raises(ConfigError, match="is not a run id"):
        ledger.path("../../etc/passwd")


def test_the_orchestrator_is_alive_only_while_its_process_runs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.start(RUN)
    assert ledger.read(RUN).orchestrator_alive  # this very process

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    other = "other-20250101-120000-a1b2c3"
    ledger.append(
        other,
        "start",
        pid=child.pid,
        host=socket.gethostname(),
        proc_start=process_start(child.pid),
    )
    assert ledger.read(other).orchestrator_alive
    child.kill()
    child.wait()
    time.sleep(0.05)
    assert not ledger.read(other).orchestrator_alive  # killed: the run is dead

    reused = "reused-20250101-120000-a1b2c3"  # the pid is alive but is another process now
    ledger.append(reused, "start", pid=os.getpid(), host=socket.gethostname(), proc_start="1")
    assert not ledger.read(reused).orchestrator_alive
    elsewhere = "away-20250101-120000-a1b2c3"  # launched on another machine: not ours to judge
    ledger.append(elsewhere, "start", pid=os.getpid(), host="another-host")
    assert not ledger.read(elsewhere).orchestrator_alive


def test_lines_are_json_with_a_time(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(RUN, "created", kind="instance", id="i-1", when=Path("/x"))
    (line,) = ledger.path(RUN).read_text().splitlines()
    parsed = json.loads(line)
    assert parsed["event"] == "created" and parsed["when"] == "/x" and "T" in parsed["time"]
