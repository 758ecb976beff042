"""Shared by the benchmarks: peer tools in their own venvs, and per-process measurements.

Each measured command runs as its own process; ``os.wait4`` gives that process's own CPU
time and peak RSS (not the benchmark's, not the server's).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work"
TOOLS = Path(os.environ.get("FERRY_TOOLS_DIR", REPO / ".tools"))
FERRY = Path(sys.executable).parent / "ferry"


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mib: float


def measure(command: Sequence[str], env: dict[str, str]) -> Sample:
    """Run ``command`` once; its wall time, CPU time (user+sys) and peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({process.returncode}): "
            f"{' '.join(command)}\n{stderr[-2000:]}"
        )
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median_of(runs: int, once: Callable[[int], Sample]) -> Sample:
    """Median wall, CPU and RSS over ``runs`` calls of ``once(run_index)``."""
    samples = [once(i) for i in range(runs)]
    return Sample(
        statistics.median(s.wall for s in samples),
        statistics.median(s.cpu for s in samples),
        max(s.rss_mib for s in samples),
    )


def print_table(title: str, rows: list[tuple[str, dict[str, Sample]]], baseline: str) -> None:
    """One row per phase: each tool's wall/CPU/RSS, then each peer's time / ferry's time."""
    tools = list(rows[0][1])
    print(f"\n{title}")
    header = f"{'phase':<22}" + "".join(f"{t + ' wall':>13}{'cpu':>8}{'rss MiB':>9}" for t in tools)
    header += "".join(f"{t + '/' + baseline:>14}" for t in tools if t != baseline)
    print(header)
    for phase, samples in rows:
        line = f"{phase:<22}"
        for tool in tools:
            s = samples[tool]
            line += f"{s.wall:>12.2f}s{s.cpu:>7.2f}s{s.rss_mib:>9.0f}"
        for tool in tools:
            if tool != baseline:
                line += f"{samples[tool].wall / samples[baseline].wall:>13.2f}x"
        print(line, flush=True)
