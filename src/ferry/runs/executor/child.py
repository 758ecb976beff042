"""Setup commands and training as child processes of the supervisor.

Each command runs under ``bash -c`` in a process group of its own, with its stdout and
stderr on one pipe that the supervisor reads (see :mod:`.logstream`). A stop request
(cancel, spot notice, soft deadline) sends SIGTERM to the whole group, waits the grace
period, then sends SIGKILL. When the command ends, whatever it left running in its group
is killed, so nothing of it outlives its phase or keeps the pipe open.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ferry.errors import FerryError
from ferry.runs.executor.logstream import LogStream

__all__ = ["Finished", "StopRequest", "run_command"]

_POLL_S = 0.05


class StopRequest:
    """Why and how fast the current command must stop; the first request wins.

    Args:
        clock: monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._clock = clock
        self.reason: str | None = None
        self.grace_s = 0.0

    def request(self, reason: str, grace_s: float) -> bool:
        """Ask to stop for ``reason`` (a final state: cancelled, interrupted, timed-out),
        giving a command ``grace_s`` seconds between SIGTERM and SIGKILL."""
        with self._lock:
            if self.reason is not None:
                return False
            self.reason, self.grace_s = reason, max(0.0, grace_s)
        self._event.set()
        return True

    @property
    def event(self) -> threading.Event:
        """Set once a stop is requested (what :func:`ferry.sync.run_workspace` obeys)."""
        return self._event

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Finished:
    """How a command ended: its exit code (``128 + N`` when signal N ended it, as shells
    report it), the signal, and the stop reason if ferry stopped it."""

    exit_code: int
    signal: int | None
    stopped: str | None
    seconds: float


def run_command(
    command: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    stream: LogStream,
    stop: StopRequest,
) -> Finished:
    """Run ``command`` to its end (or until ``stop``), its output into ``stream``.

    Raises:
        FerryError: the command could not be started at all.
    """
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise FerryError(
            f"Could not start {command!r} in {cwd}: {exc.strerror or exc}.",
            "Check that bash is installed and the folder exists.",
        ) from exc
    assert process.stdout is not None
    reader = stream.pump(process.stdout)
    stopped = _wait(process, stop)
    _signal_group(process.pid, signal.SIGKILL)  # whatever it left behind
    reader.join(timeout=5)
    process.stdout.close()
    code = process.returncode
    number = -code if code < 0 else None
    return Finished(128 + number if number else code, number, stopped, time.monotonic() - started)


def _wait(process: subprocess.Popen[bytes], stop: StopRequest) -> str | None:
    """Wait for the process; on a stop request SIGTERM, grace, SIGKILL. The stop reason."""
    while process.poll() is None:
        if stop.wait(_POLL_S):
            break
    if process.poll() is not None:
        return None
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=stop.grace_s)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    return stop.reason


def _signal_group(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)
