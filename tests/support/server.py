"""A small test server run as a Python module in a subprocess of its own.

The module (``python -m tests.support.NAME``, from the repository root) binds 127.0.0.1
on a free port and prints the port on its first line; the server is stopped by its
process group id, so nothing it started keeps listening.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class ScriptServer:
    """Starts ``module`` (a dotted name under ``tests``) with ``args``; ``url`` is where
    it listens."""

    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def stop(self) -> None:
        """Stop it (and its children) by its process group id; safe to call twice."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
