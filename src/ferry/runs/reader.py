"""Runs as plain data for the faces: the ledger and each run's S3 objects (workflow C),
turned into a summary per run, one run's detail, its heartbeat history and its log tail.

``ferry runs ls`` (:mod:`ferry.runs.views`) and the dashboard's Runs page both read
through :class:`RunsReader`. It only reads: the ledger, the report beside it, and the run's
prefix in S3; it never calls EC2 and never writes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ferry.errors import FerryError
from ferry.runs.bundle import RunStores
from ferry.runs.cost import estimate
from ferry.runs.layout import run_started
from ferry.runs.ledger import Ledger, RunRecord
from ferry.runs.monitor import HeartbeatCursor, LogTail, snapshot
from ferry.runs.report import format_report, phase_spans, stored_report
from ferry.storage.base import Store
from ferry.storage.s3 import S3Options

__all__ = ["RunsReader"]

Snapshot = dict[str, Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _seconds_since(moment: str | None, now: datetime) -> float | None:
    if not moment:
        return None
    try:
        return round((now - datetime.fromisoformat(moment)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


@dataclass
class _Followed:
    """What is kept of one run between reads: its bus store, its heartbeat history and
    the end of its log (rank 0)."""

    bus: Store
    heartbeats: HeartbeatCursor
    log: LogTail
    lock: threading.Lock = field(default_factory=threading.Lock)  # one reader at a time


@dataclass
class RunsReader:
    """Reads the runs in a ledger and their S3 prefixes.

    Args:
        ledger: the local run ledger (``ferry runs ls`` reads the default one).
        s3: S3 options; the SSE-C key, if any, reads the bus of runs that use it.
        clock: the current time (UTC).
        keep: how many runs' stores and heartbeat histories are kept between reads.
    """

    ledger: Ledger
    s3: S3Options
    clock: Callable[[], datetime] = _utc_now
    keep: int = 16
    _followed: OrderedDict[str, _Followed] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the list ------------------------------------------------------------------------

    def summaries(self) -> list[dict[str, Any]]:
        """A summary of every run in the ledger, newest first (see :meth:`summary`); the
        live runs' S3 objects are read a few runs at a time."""
        records = list(self.ledger)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(records)))) as pool:
            return list(pool.map(self.summary, records))

    def summary(self, record: RunRecord, snap: Snapshot | None = None) -> dict[str, Any]:
        """One run: state, phase, age, last heartbeat (``heartbeat_at``) and its age, exit
        code, instance type, cost so far (or final, from the report), resources left;
        ``done`` once teardown has reported. Ages are seconds, times ISO 8601.

        ``snap`` is the run's S3 snapshot when the caller has read it already.
        """
        now = self.clock()
        report = stored_report(self.ledger, record.run_id)
        summary = self._base(record, now)
        if report is not None:
            return {
                **summary,
                "state": report["state"],
                "exit_code": report.get("exit_code"),
                "cost": _cost(report.get("cost") or {}, final=True),
                "left_count": report.get("left_count"),
                "done": True,
            }
        if record.start.get("run_url"):
            snap = snap if snap is not None else self.snapshot(record)
            summary.update(_live(snap, now))
        if record.last("teardown-start"):
            summary["state"] = "tearing down"
        start = record.start
        cost = estimate(
            start.get("instance_type", ""),
            summary["age_s"],
            int(start.get("volume_gb", 0)),
            start.get("price_per_hour"),
        )
        return {**summary, "cost": {"total": cost.total, "text": cost.text(), "final": False}}

    def _base(self, record: RunRecord, now: datetime) -> dict[str, Any]:
        start = record.start
        started = run_started(record.run_id)
        return {
            "run_id": record.run_id,
            "started": started.isoformat(),
            "age_s": round((now - started).total_seconds(), 3),
            "state": "starting" if start.get("run_url") else "running",
            "phase": "",
            "exit_code": None,
            "heartbeat_at": None,
            "heartbeat_age_s": None,
            "instance_type": start.get("instance_type"),
            "market": start.get("market"),
            "region": start.get("region"),
            "run_url": start.get("run_url"),
            "left_count": None,
            "done": False,
        }

    # -- one run -------------------------------------------------------------------------

    def detail(self, run_id: str) -> dict[str, Any]:
        """One run: its summary, phase timeline (durations; an unfinished phase so far),
        latest heartbeat document (``heartbeat``), the executor's message, the report (as
        data and as text), and what kept ferry from reading the run, if anything did."""
        record = self.ledger.read(run_id)
        snap = self.snapshot(record)
        summary = self.summary(record, snap)
        report = stored_report(self.ledger, run_id)
        status = snap.get("final") or snap.get("status")
        live = summary["state"] in ("starting", "running")
        return {
            **summary,
            "phases": phase_spans(report or status, self.clock() if live else None),
            "message": (status or {}).get("message") or "",
            "heartbeat": snap.get("heartbeat"),
            "report": report,
            "report_text": format_report(report) if report is not None else None,
            "problems": self._problems(record),
        }

    def _problems(self, record: RunRecord) -> list[str]:
        start = record.start
        if not start.get("run_url"):
            return ["The ledger has no S3 prefix for this run (a sweep adopted it)."]
        if start.get("sse_c") and self.s3.sse_c is None:
            return [
                "This run's status, heartbeats and log are encrypted with the workspace's "
                "SSE-C key, which was not given here: set FERRY_SSE_C_KEY (or sse_c_key_file "
                "in ferry.toml) where you start ferry."
            ]
        return []

    def snapshot(self, record: RunRecord) -> Snapshot:
        """status, heartbeat, final and manifest as they are in S3 now (each may be None;
        all are None for a run the ledger has no S3 prefix for)."""
        try:
            followed = self._follow(record)
        except FerryError:  # an S3 prefix or options ferry cannot use: nothing to read
            followed = None
        if followed is None:
            return {"status": None, "heartbeat": None, "final": None, "manifest": None}
        return snapshot(followed.bus)

    def heartbeats(self, run_id: str) -> dict[str, Any]:
        """Every heartbeat of the run, oldest first (``history``: True); a run from before
        the heartbeat history has only its latest one (``history``: False)."""
        record = self.ledger.read(run_id)
        followed = self._follow(record)
        if followed is None:
            return {"history": False, "samples": []}
        with followed.lock:
            samples = followed.heartbeats.samples()
        if samples:
            return {"history": True, "samples": samples}
        latest = snapshot(followed.bus)["heartbeat"]
        return {"history": False, "samples": [latest] if latest else []}

    def log_tail(self, run_id: str, rank: int = 0, max_chars: int = 64 * 1024) -> str:
        """The end of the training's output (of ``rank``), from S3; rank 0's is kept
        between calls, so each call reads only the chunks written since."""
        followed = self._follow(self.ledger.read(run_id))
        if followed is None:
            return ""
        if rank != 0:
            return LogTail(followed.bus, rank).text(max_chars)
        with followed.lock:
            return followed.log.text(max_chars)

    def _follow(self, record: RunRecord) -> _Followed | None:
        url = record.start.get("run_url")
        if not url:
            return None
        with self._lock:
            followed = self._followed.get(record.run_id)
            if followed is None:
                bus = RunStores(url, self.s3, bool(record.start.get("sse_c"))).bus()
                followed = _Followed(bus, HeartbeatCursor(bus), LogTail(bus))
                self._followed[record.run_id] = followed
            self._followed.move_to_end(record.run_id)
            while len(self._followed) > self.keep:
                self._followed.popitem(last=False)
            return followed


def _live(snap: Snapshot, now: datetime) -> dict[str, Any]:
    """What a run's S3 objects say while no report exists."""
    status, final = snap.get("status") or {}, snap.get("final") or {}
    beat = snap.get("heartbeat") or {}
    found: dict[str, Any] = {
        "heartbeat_at": beat.get("time"),
        "heartbeat_age_s": _seconds_since(beat.get("time"), now),
        "exit_code": final.get("exit_code", status.get("exit_code")),
    }
    if status or final:
        found["state"] = final.get("state") or status.get("state") or "running"
        found["phase"] = status.get("phase", "")
    return found


def _cost(cost: dict[str, Any], *, final: bool) -> dict[str, Any]:
    return {"total": cost.get("total"), "text": cost.get("text", ""), "final": final}
