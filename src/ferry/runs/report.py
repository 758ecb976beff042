"""The run report: phases, exit status, what moved, what was destroyed, what it cost, and
how many cost-generating resources are left (verified by a listing)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ferry.errors import FerryError
from ferry.runs.layout import PHASES, REPORT_JSON, REPORT_TXT, check_run_id
from ferry.runs.ledger import Ledger, RunRecord
from ferry.runs.provider import Resource
from ferry.storage.base import Store

__all__ = [
    "Verification",
    "build_report",
    "format_report",
    "phase_spans",
    "store_report",
    "stored_report",
]


@dataclass
class Verification:
    """Manifest entries checked against S3 (HEAD: size and ferry's checksum)."""

    files: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def passed(self) -> bool:
        return not (self.missing or self.mismatched or self.problem)


def phase_spans(
    source: dict[str, Any] | None, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """The phases of a status, final marker or report, in run order, each with its
    ``start``, ``end`` and ``seconds``; a phase not ended yet lasts until ``now`` when it
    is given (a running run), else its ``seconds`` is None."""
    phases = (source or {}).get("phases") or {}
    out = {}
    for name in [*PHASES, *[p for p in phases if p not in PHASES]]:
        span = phases.get(name)
        if not span:
            continue
        start, end = span.get("start"), span.get("end") or (now and now.isoformat())
        seconds = None
        if start and end:
            took = datetime.fromisoformat(end) - datetime.fromisoformat(start)
            seconds = round(took.total_seconds(), 3)
        out[name] = {"start": start, "end": span.get("end"), "seconds": seconds}
    return out


def stored_report(ledger: Ledger, run_id: str) -> dict[str, Any] | None:
    """The report teardown wrote beside the ledger, or None if teardown has not run."""
    path = ledger.folder / f"{check_run_id(run_id)}.report.json"
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None


def build_report(
    record: RunRecord,
    *,
    final: dict[str, Any] | None,
    status: dict[str, Any] | None,
    verification: Verification,
    left: list[Resource],
    problems: list[str],
    teardown_s: float,
    now: datetime,
    cost: dict[str, Any],
) -> dict[str, Any]:
    """Everything the user should know once the run is over, as plain JSON."""
    source = final or status or {}
    state = (
        (final or {}).get("state") or ((status or {}).get("state") if status else None) or "unknown"
    )
    destroyed = [
        {k: e[k] for k in ("kind", "id", "how", "time")}
        for e in record.events
        if e.get("event") == "destroyed"
    ]
    succeeded = state == "succeeded" and verification.passed and not left
    return {
        "run_id": record.run_id,
        "run_url": record.start.get("run_url"),
        "state": state,
        "exit_code": (final or {}).get("exit_code", (status or {}).get("exit_code")),
        "finished": (final or {}).get("finished"),
        "phases": phase_spans(source),
        "pulled_files": (final or {}).get("pulled_files", 0),
        "pulled_bytes": (final or {}).get("pulled_bytes", 0),
        "pushed_files": (final or {}).get("pushed_files", 0),
        "pushed_bytes": (final or {}).get("pushed_bytes", 0),
        "verification": {
            "files": verification.files,
            "ok": verification.ok,
            "missing": verification.missing,
            "mismatched": verification.mismatched,
            "problem": verification.problem,
            "passed": verification.passed,
        },
        "destroyed": destroyed,
        "cost": cost,
        "left": [str(r) for r in left],
        "left_count": len(left),
        "verified_at": now.isoformat(),
        "teardown_seconds": round(teardown_s, 3),
        "problems": list(problems),
        "succeeded": succeeded,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as text (``report.txt``)."""
    lines = [f"ferry run {report['run_id']}: {report['state']} (exit code {report['exit_code']})"]
    for name, span in report["phases"].items():
        took = f"{span['seconds']:.1f} s" if span.get("seconds") is not None else "unfinished"
        lines.append(f"  {name:<9} {took}")
    lines.append(
        f"pulled {report['pulled_files']} files ({report['pulled_bytes']} bytes), "
        f"pushed {report['pushed_files']} files ({report['pushed_bytes']} bytes)"
    )
    v = report["verification"]
    verdict = (
        "verified"
        if v["passed"]
        else (v["problem"] or f"{len(v['missing'])} missing, {len(v['mismatched'])} mismatched")
    )
    lines.append(
        f"push check: {v['ok']}/{v['files']} manifest files in S3 with their checksums ({verdict})"
    )
    lines.append("destroyed:" if report["destroyed"] else "destroyed: nothing (already gone)")
    lines += [f"  {d['kind']} {d['id']} ({d['how']})" for d in report["destroyed"]]
    lines.append(f"cost estimate: {report['cost'].get('text')}")
    lines += [f"problem: {p}" for p in report["problems"]]
    if report["left_count"]:
        lines.append(
            f"{report['left_count']} cost-generating resources LEFT: {', '.join(report['left'])}"
        )
        lines.append(f"  run 'ferry runs stop {report['run_id']}' or 'ferry sweep' to retry")
    else:
        lines.append(
            f"0 cost-generating resources left (verified by a listing at {report['verified_at']})"
        )
    return "\n".join(lines) + "\n"


def store_report(
    report: dict[str, Any], bus: Store | None, ledger: Ledger, problems: list[str]
) -> None:
    """Beside the run in S3 (best effort: S3 may be the problem) and beside the ledger."""
    text = format_report(report)
    data = json.dumps(report, indent=2, default=str).encode()
    ledger.folder.mkdir(parents=True, exist_ok=True)
    (ledger.folder / f"{report['run_id']}.report.json").write_bytes(data)
    (ledger.folder / f"{report['run_id']}.report.txt").write_text(text)
    if bus is None:
        return
    try:
        bus.put(REPORT_JSON, data)
        bus.put(REPORT_TXT, text.encode())
    except FerryError as exc:
        problems.append(f"report not stored in S3: {exc.problem}")
        report["problems"] = list(problems)
