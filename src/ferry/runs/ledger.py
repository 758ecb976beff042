"""The local ledger: one append-only, fsynced JSONL file per run in the user state folder.

Before each create call the ledger gets an *intent* line (with the client token); after it,
the id the call returned. A dev machine that dies between the two leaves an intent with no
id: the next sweep looks for the resource by its tag (which it carries from creation on).
The ledger also names the process that runs the orchestration, so a later command can
tell a live run from one whose orchestrator was killed.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError
from ferry.runs.layout import check_run_id

__all__ = ["Ledger", "LedgerEntry", "RunRecord", "default_state_dir", "process_start"]


def default_state_dir() -> Path:
    """``platformdirs.user_state_dir("ferry")/runs`` (``$XDG_STATE_HOME/ferry/runs`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("ferry")) / "runs"


def process_start(pid: int) -> str:
    """A token that changes when ``pid`` is reused: the start time from /proc, or ""."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@dataclass
class RunRecord:
    """What the ledger knows about one run, folded from its lines."""

    run_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def last(self, event: str) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e.get("event") == event), None)

    @property
    def start(self) -> dict[str, Any]:
        return self.last("start") or {}

    @property
    def created(self) -> dict[str, list[str]]:
        """Resource kind -> ids the create calls returned."""
        found: dict[str, list[str]] = {}
        for e in self.events:
            if e.get("event") == "created":
                found.setdefault(e["kind"], []).append(e["id"])
        return found

    @property
    def torn_down(self) -> bool:
        """Whether a teardown of the run finished (what it could not delete is left over)."""
        return self.last("teardown-done") is not None

    @property
    def launched_here(self) -> bool:
        """Whether this machine launched the run (a shared home may hold others' ledgers)."""
        return self.start.get("host") == socket.gethostname()

    @property
    def orchestrator_alive(self) -> bool:
        """Whether the process that launched the run is still running on this host."""
        start = self.start
        pid = start.get("pid")
        if not pid or not self.launched_here:
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        token = start.get("proc_start", "")
        return not token or process_start(int(pid)) == token


LedgerEntry = dict[str, Any]


class Ledger:
    """The run ledgers in ``folder`` (one ``<run id>.jsonl`` each).

    Args:
        folder: where the files live (:func:`default_state_dir` by default).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_state_dir()

    def path(self, run_id: str) -> Path:
        return self.folder / f"{check_run_id(run_id)}.jsonl"

    def append(self, run_id: str, event: str, **fields: Any) -> None:
        """Write one line and fsync it before returning.

        A line torn by a crash mid-write is ended first, so it cannot swallow this one.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        line = {"time": datetime.now(UTC).isoformat(), "event": event, **fields}
        data = (json.dumps(line, default=str) + "\n").encode()
        fd = os.open(self.path(run_id), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def start(self, run_id: str, **fields: Any) -> None:
        """The first line: which process orchestrates the run, and where."""
        pid = os.getpid()
        self.append(
            run_id,
            "start",
            pid=pid,
            host=socket.gethostname(),
            proc_start=process_start(pid),
            **fields,
        )

    def read(self, run_id: str) -> RunRecord:
        """Every line of a run (a torn last line, from a crash mid-write, is skipped)."""
        path = self.path(run_id)
        if not path.exists():
            raise ConfigError(
                f"No run {run_id} in {self.folder}.", "List runs with 'ferry runs ls'."
            )
        record = RunRecord(run_id)
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record.events.append(json.loads(line))
            except ValueError:
                continue
        return record

    def run_ids(self) -> list[str]:
        """Every run in the ledger, newest first."""
        if not self.folder.is_dir():
            return []
        names = (p.stem for p in self.folder.glob("*.jsonl"))
        return sorted(names, key=lambda n: n.rsplit("-", 3)[-3:-1], reverse=True)

    def __iter__(self) -> Iterator[RunRecord]:
        return (self.read(run_id) for run_id in self.run_ids())
