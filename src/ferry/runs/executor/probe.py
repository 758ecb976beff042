"""What the instance is doing right now: CPU, memory, disk and GPUs, for the heartbeat.

Read straight from Linux's ``/proc`` and ``statvfs`` (a handful of lines, so no psutil
to install on every instance), and from ``nvidia-smi`` when it is on the PATH. A value
that cannot be read is ``None``: a heartbeat never fails because of a probe.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GpuSample", "SystemProbe", "SystemSample", "parse_nvidia_smi"]

MiB = 1024 * 1024
NVIDIA_SMI_QUERY = (
    "--query-gpu=index,utilization.gpu,memory.used,memory.total",
    "--format=csv,noheader,nounits",
)


@dataclass(frozen=True)
class GpuSample:
    """One GPU as nvidia-smi reports it (memory in bytes)."""

    index: int
    util_percent: float | None
    mem_used_bytes: int | None
    mem_total_bytes: int | None


@dataclass(frozen=True)
class SystemSample:
    """One reading of the machine; ``None`` where a value could not be read."""

    cpu_percent: float | None = None
    mem_percent: float | None = None
    mem_used_bytes: int | None = None
    disk_percent: float | None = None
    gpus: list[GpuSample] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Runner = Callable[[Sequence[str]], str]


def _run_nvidia_smi(command: Sequence[str]) -> str:
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


class SystemProbe:
    """Reads CPU use (since the previous reading), memory, the disk of ``path`` and GPUs.

    Args:
        path: a folder on the disk to report (the executor's work folder).
        proc: where procfs is mounted.
        run: runs nvidia-smi and returns its output (injected by tests).
    """

    def __init__(self, path: Path, *, proc: Path = Path("/proc"), run: Runner = _run_nvidia_smi):
        self.path = path
        self.proc = proc
        self._run = run
        self._last_cpu = self._cpu_times()

    def sample(self) -> SystemSample:
        """A reading now."""
        mem = self._memory()
        return SystemSample(
            cpu_percent=self._cpu_percent(),
            mem_percent=mem[0],
            mem_used_bytes=mem[1],
            disk_percent=self._disk_percent(),
            gpus=self._gpus(),
        )

    def _cpu_times(self) -> tuple[int, int] | None:
        """(busy, total) jiffies of all CPUs since boot, from the first line of /proc/stat."""
        try:
            fields = (self.proc / "stat").read_text().split("\n", 1)[0].split()
            values = [int(v) for v in fields[1:]]
        except (OSError, ValueError, IndexError):
            return None
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        total = sum(values[:8])  # guest time is already counted in user
        return total - idle, total

    def _cpu_percent(self) -> float | None:
        now, last = self._cpu_times(), self._last_cpu
        self._last_cpu = now
        if now is None or last is None or now[1] <= last[1]:
            return None
        return round(100.0 * (now[0] - last[0]) / (now[1] - last[1]), 1)

    def _memory(self) -> tuple[float | None, int | None]:
        try:
            lines = (self.proc / "meminfo").read_text().splitlines()
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in lines}
            total, available = info["MemTotal"], info["MemAvailable"]
        except (OSError, ValueError, IndexError, KeyError):
            return None, None
        used = total - available
        return round(100.0 * used / total, 1), used

    def _disk_percent(self) -> float | None:
        try:
            st = os.statvfs(self.path)
        except OSError:
            return None
        used = st.f_blocks - st.f_bfree
        usable = used + st.f_bavail  # as df counts it: the root-reserved blocks excluded
        return round(100.0 * used / usable, 1) if usable else None

    def _gpus(self) -> list[GpuSample]:
        program = shutil.which("nvidia-smi")
        if program is None:
            return []
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return parse_nvidia_smi(self._run([program, *NVIDIA_SMI_QUERY]))
        return []


def parse_nvidia_smi(text: str) -> list[GpuSample]:
    """GPUs from ``nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
    --format=csv,noheader,nounits`` (memory in MiB; ``[N/A]`` or ``[Not Supported]`` where
    a GPU cannot say)."""
    gpus = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 4 or not cells[0].isdigit():
            continue
        used, total = _value(cells[2]), _value(cells[3])
        gpus.append(
            GpuSample(
                index=int(cells[0]),
                util_percent=_value(cells[1]),
                mem_used_bytes=None if used is None else int(used * MiB),
                mem_total_bytes=None if total is None else int(total * MiB),
            )
        )
    return gpus


def _value(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"
