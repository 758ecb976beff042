"""The supervisor's two background loops: the heartbeat, and the control loop.

- **Heartbeat**, every ``heartbeat_s``: phase, CPU, memory, disk, GPUs and the latest
  metrics to ``heartbeat.json`` (rank 0); each rank refreshes ``ranks/<rank>.json``.
- **Control**, every few seconds: ``control/cancel`` in the run's prefix, the spot notice
  from IMDS (spot only), and the soft deadline. Each turns into a :class:`StopRequest`
  with the grace the situation allows: a spot notice leaves the training only what the
  two-minute window can spare after the checkpoint push.

Neither loop ever raises: a failed poll is reported and tried again next time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ferry.errors import FerryError
from ferry.runs.executor.bus import Bus
from ferry.runs.executor.child import StopRequest
from ferry.runs.executor.imds import Imds, SpotNotice
from ferry.runs.executor.probe import SystemProbe
from ferry.runs.executor.state import RunState, iso

__all__ = ["Control", "Watcher"]

MetricsReader = Callable[[], dict[str, Any]]
# Of the two minutes a spot notice gives, what the push of checkpoints keeps for itself.
SPOT_PUSH_RESERVE_S = 60.0
SPOT_PUSH_MARGIN_S = 10.0  # the push stops this long before the instance is taken
MAX_POLL_S = 5.0


@dataclass
class Control:
    """What the control loop watches and how to act on it.

    Args:
        stop: the stop request the running command obeys.
        deadline: the soft deadline, in ``clock()`` seconds.
        grace_s: SIGTERM-to-SIGKILL time for a cancel or the deadline.
        imds: the metadata service for spot notices, or None to not ask.
        clock: monotonic seconds.
        wall: the current UTC time (to read the notice's time against).
    """

    stop: StopRequest
    deadline: float
    grace_s: float
    imds: Imds | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    notice: SpotNotice | None = None

    def push_deadline(self, default: float) -> float:
        """When a push must stop, in ``clock()`` seconds: before the instance is taken."""
        if self.notice is None:
            return default
        return min(default, self.clock() + self._seconds_left() - SPOT_PUSH_MARGIN_S)

    def _seconds_left(self) -> float:
        if self.notice is None or self.notice.time is None:
            return 120.0
        return max(0.0, (self.notice.time - self.wall()).total_seconds())

    def on_notice(self, notice: SpotNotice) -> bool:
        """React to a spot notice: stop training with what grace the window leaves."""
        self.notice = notice
        left = self._seconds_left()
        # The push keeps its reserve; on a late notice training still gets a quarter of it.
        grace = min(self.grace_s, max(left - SPOT_PUSH_RESERVE_S, left / 4))
        return self.stop.request("interrupted", grace)


class Watcher:
    """Runs the heartbeat and control loops on daemon threads until :meth:`close`.

    Args:
        bus: where to write and what to poll.
        state: the run's state (read for the phase).
        probe: reads the machine.
        metrics: the latest metrics the training logged (may raise; reported).
        control: cancel, spot and deadline handling.
        heartbeat_s: seconds between heartbeats; polls run every min(5 s, heartbeat_s).
        note: told of every event worth a log line.
    """

    def __init__(
        self,
        *,
        bus: Bus,
        state: RunState,
        probe: SystemProbe,
        metrics: MetricsReader | None,
        control: Control,
        heartbeat_s: float,
        note: Callable[[str], None],
    ) -> None:
        self.bus, self.state, self.probe = bus, state, probe
        self.metrics, self.control = metrics, control
        self.heartbeat_s = heartbeat_s
        self.poll_s = min(MAX_POLL_S, heartbeat_s)
        self.note = note
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(self.heartbeat_s, self.beat), daemon=True),
            threading.Thread(target=self._loop, args=(self.poll_s, self.poll), daemon=True),
        ]
        self._last_metrics: dict[str, Any] = {}
        self._said: set[str] = set()
        self.beats = 0

    def start(self) -> Watcher:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Stop both loops, then write a last heartbeat (the training's last metrics)."""
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=30)
        try:
            self.beat()
        except Exception as exc:  # never let the last heartbeat stop the final marker
            self._once("beat", f"beat failed: {exc!r}")

    def _loop(self, every: float, step: Callable[[], None]) -> None:
        while True:
            try:
                step()
            except Exception as exc:  # a loop that dies would stop watching
                self._once(step.__name__, f"{step.__name__} failed: {exc!r}")
            if self._closed.wait(every):
                return

    def beat(self) -> None:
        """Write one heartbeat (and this rank's status, so its ``updated`` moves)."""
        now = datetime.now(UTC)
        document = {
            "time": iso(now),
            "phase": self.state.phase,
            "rank": self.state.rank.rank,
            **self.probe.sample().to_dict(),
            "metrics": self._read_metrics(),
        }
        if self.state.rank.leader:
            self.bus.heartbeat(document)
        self.bus.status(self.state.status(now))
        self.beats += 1

    def _read_metrics(self) -> dict[str, Any]:
        if self.metrics is None:
            return {}
        try:
            self._last_metrics = self.metrics()
        except Exception as exc:  # the training's data must never stop a run
            self._once("metrics", f"could not read the latest metrics: {exc}")
        return self._last_metrics

    def poll(self) -> None:
        """One round of the control loop."""
        control = self.control
        if control.stop.is_set():
            return
        if control.clock() >= control.deadline:
            if control.stop.request("timed-out", control.grace_s):
                self.note("soft deadline reached (max_runtime_s): stopping")
            return
        try:
            if self.bus.cancel_requested() and control.stop.request("cancelled", control.grace_s):
                self.note("control/cancel found: stopping")
                return
        except FerryError as exc:
            self._once("cancel", f"could not check control/cancel: {exc}")
        self._poll_spot()

    def _poll_spot(self) -> None:
        imds = self.control.imds
        if imds is None:
            return
        try:
            notice = imds.spot_notice()
        except FerryError as exc:
            self._once("imds", f"could not ask IMDS for a spot notice: {exc}")
            return
        if notice is not None and self.control.on_notice(notice):
            self.note(f"spot notice: {notice.action} at {notice.time}; stopping, pushing first")

    def _once(self, topic: str, message: str) -> None:
        """Say a recurring problem once, not every few seconds."""
        if topic not in self._said:
            self._said.add(topic)
            self.note(message)
