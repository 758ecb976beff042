"""A training run for the Runs page's tests, written step by step by ferry.runs' own
writers, so nothing here can drift from the real format: the ledger lines as launch and
teardown append them, the executor's status (``RunState``), heartbeats (``Watcher.beat``
over a ``SystemProbe`` reading a /proc of the test's making) and log chunks (``Bus``), and
teardown's report (``build_report``, ``run_cost``, ``store_report``).

The run is then as live, or as finished, as the test says, with no EC2 needed; a whole
run on the emulators is in tests/ui/test_runs.py too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.runs.executor.bus import Bus
from ferry.runs.executor.child import StopRequest
from ferry.runs.executor.probe import SystemProbe
from ferry.runs.executor.ranks import Rank
from ferry.runs.executor.state import RunState, verdict
from ferry.runs.executor.watch import Control, Watcher
from ferry.runs.layout import new_run_id
from ferry.runs.ledger import Ledger
from ferry.runs.monitor import snapshot
from ferry.runs.report import Verification, build_report, store_report
from ferry.runs.teardown import run_cost
from ferry.storage.s3 import S3Options, S3Store

INSTANCE = "i-0123456789abcdef0"


class WrittenRun:
    """One run on ``t3.micro`` under ``<bucket url>/ws/runs/<run id>/``.

    Args:
        ledger: the run ledger to start it in.
        bucket_url: ``s3://bucket``.
        options: how to reach S3.
        folder: where its fake /proc lives.
        started: when (the run id carries it, to the second).
        sse_c: whether the ledger says its bus is encrypted with the workspace's key.
    """

    def __init__(
        self,
        ledger: Ledger,
        bucket_url: str,
        options: S3Options,
        folder: Path,
        *,
        name: str = "train",
        started: datetime | None = None,
        sse_c: bool = False,
    ) -> None:
        self.ledger = ledger
        self.run_id = new_run_id(name, started)
        self.run_url = f"{bucket_url}/ws/runs/{self.run_id}/"
        ledger.start(
            self.run_id,
            region="us-east-1",
            run_url=self.run_url,
            sse_c=sse_c,
            instance_type="t3.micro",
            market="on-demand",
            price_per_hour=None,
            volume_gb=10,
        )
        self.store = S3Store(self.run_url, options)
        self.bus = Bus(self.store, Rank())
        self.state = RunState(self.run_id, Rank())
        self.proc = folder / "proc"
        self.proc.mkdir(parents=True)
        self._jiffies = [0, 0]  # busy, total
        self._set_proc(0.0, 10.0)
        self.metrics: dict[str, Any] = {}
        self.watcher = Watcher(
            bus=self.bus,
            state=self.state,
            probe=SystemProbe(folder, proc=self.proc),
            metrics=lambda: dict(self.metrics),
            control=Control(stop=StopRequest(), deadline=float("inf"), grace_s=1.0),
            heartbeat_s=1.0,
            note=lambda message: None,
        )
        self._chunks = 0

    def launched(self) -> WrittenRun:
        """The instance's id in the ledger, as launch writes it once RunInstances answers."""
        self.ledger.append(self.run_id, "created", kind="instance", id=INSTANCE)
        return self

    def enter(self, phase: str) -> None:
        """The instance begins ``phase`` and says so in status.json."""
        self.state.begin(phase, datetime.now(UTC))
        self.bus.status(self.state.status(datetime.now(UTC)))

    def beat(self, cpu: float, mem: float, **metrics: Any) -> None:
        """One heartbeat that reads ``cpu`` % busy since the last one and ``mem`` % used."""
        self._set_proc(cpu, mem)
        self.metrics = metrics
        self.watcher.beat()

    def log(self, text: str) -> None:
        self.bus.log_chunk(self._chunks, text.encode())
        self._chunks += 1

    def finish(self, training_code: int = 0) -> None:
        """Training ended with ``training_code``: the instance's last status (the final
        marker is left out: a whole run on the emulators has one)."""
        result = verdict(stop_reason=None, training_code=training_code, failures=[])
        self.state.finish(result, datetime.now(UTC))
        self.bus.status(self.state.status(datetime.now(UTC)))

    def tear_down(self, left: list[Any] | None = None) -> dict[str, Any]:
        """Teardown's ledger lines and its report, beside the ledger and in S3."""
        self.ledger.append(self.run_id, "teardown-start", cancel=None)
        self.ledger.append(self.run_id, "terminated", ids=[INSTANCE])
        self.ledger.append(self.run_id, "destroyed", kind="instance", id=INSTANCE, how="terminated")
        self.ledger.append(self.run_id, "teardown-done", left=len(left or []))
        record = self.ledger.read(self.run_id)
        snap = snapshot(self.store)
        report = build_report(
            record,
            final=snap["final"],
            status=snap["status"],
            verification=Verification(),
            left=left or [],
            problems=[],
            teardown_s=1.5,
            now=datetime.now(UTC),
            cost=run_cost(record),
        )
        store_report(report, self.store, self.ledger, [])
        return report

    def _set_proc(self, cpu: float, mem: float) -> None:
        """/proc/stat moved by 1000 jiffies, ``cpu`` % of them busy; /proc/meminfo."""
        self._jiffies[0] += round(10 * cpu)
        self._jiffies[1] += 1000
        busy, total = self._jiffies
        (self.proc / "stat").write_text(f"cpu  {busy} 0 0 {total - busy} 0 0 0 0 0 0\n")
        total_kib = 1_000_000
        available = round(total_kib * (1 - mem / 100))
        (self.proc / "meminfo").write_text(
            f"MemTotal: {total_kib} kB\nMemFree: {available} kB\nMemAvailable: {available} kB\n"
        )
