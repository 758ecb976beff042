"""The run's phase state machine and how its end is judged (pure: no I/O, no clock).

Phases run in the order of :data:`ferry.runs.layout.PHASES`; a phase can be skipped (a
failed checkout leaves nothing to pull) but never revisited. The run is ``running``
until :func:`verdict` names its final state:

- ``interrupted`` (spot notice), ``cancelled`` (control/cancel) or ``timed-out`` (soft
  deadline): whichever stop came first, whatever training did afterwards;
- ``failed``: training exited non-zero, a phase failed, or the push failed;
- ``succeeded``: none of that.

The exit code is training's own when it is not zero; else that of the first failure;
else 1 for a stopped run; 0 only for ``succeeded``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ferry.runs import layout
from ferry.runs.executor.ranks import Rank

__all__ = ["Failure", "RunState", "Verdict", "iso", "verdict"]


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, to the millisecond."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Failure:
    """A phase that failed: where, why, and the exit code it stands for."""

    phase: str
    message: str
    exit_code: int = 1


@dataclass(frozen=True)
class Verdict:
    state: str
    exit_code: int
    message: str


def verdict(
    *, stop_reason: str | None, training_code: int | None, failures: list[Failure]
) -> Verdict:
    """The final state and exit code (see the module docstring)."""
    state = stop_reason or ("failed" if failures or training_code else "succeeded")
    if training_code:
        code = training_code
    elif failures:
        code = failures[0].exit_code or 1
    else:
        code = 0 if state == "succeeded" else 1
    messages = [f"{f.phase}: {f.message}" for f in failures]
    if stop_reason:
        messages.insert(0, f"stopped: {stop_reason}")
    if training_code:
        messages.append(f"training exited with {training_code}")
    return Verdict(state, code, "; ".join(messages))


@dataclass
class RunState:
    """Where the run is, as ``status.json`` shows it."""

    run_id: str
    rank: Rank
    phase: str = layout.PHASES[0]
    state: str = "running"
    phases: dict[str, dict[str, str | None]] = field(default_factory=dict)
    exit_code: int | None = None
    message: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, phase: str, now: datetime) -> None:
        """Enter ``phase`` (ending the current one); phases only move forward."""
        with self._lock:
            order = layout.PHASES
            if order.index(phase) < order.index(self.phase):
                raise ValueError(f"phase {phase} after {self.phase}")
            self._end(now)
            self.phase = phase
            self.phases[phase] = {"start": iso(now), "end": None}

    def end(self, now: datetime) -> None:
        """End the current phase."""
        with self._lock:
            self._end(now)

    def _end(self, now: datetime) -> None:
        times = self.phases.get(self.phase)
        if times is not None and times["end"] is None:
            times["end"] = iso(now)

    def finish(self, result: Verdict, now: datetime) -> None:
        with self._lock:
            self._end(now)
            self.state, self.exit_code, self.message = (
                result.state,
                result.exit_code,
                result.message,
            )

    def status(self, now: datetime) -> dict[str, Any]:
        """The ``status.json`` document."""
        with self._lock:
            return {
                "run_id": self.run_id,
                "phase": self.phase,
                "state": self.state,
                "updated": iso(now),
                "phases": {k: dict(v) for k, v in self.phases.items()},
                "exit_code": self.exit_code,
                "message": self.message,
                "rank": self.rank.rank,
                "world_size": self.rank.world_size,
            }
