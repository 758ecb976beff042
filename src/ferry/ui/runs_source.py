"""The dashboard's one adapter to EC2 training runs: the only module of ``ferry.ui`` that
knows :mod:`ferry.runs`.

It reads through :class:`ferry.runs.reader.RunsReader`, the reader ``ferry runs ls`` uses:
the run ledger in the user state folder (the same one, found the same way) and each run's
prefix in S3 (status, heartbeats, log chunks). The report and the cost come from the
ledger folder once teardown has run. Here the heartbeat history becomes chart series,
thinned to the chart's width like the tracking pages' series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from ferry.config import Settings
from ferry.runs.ledger import Ledger
from ferry.runs.reader import RunsReader
from ferry.storage.s3 import S3Options
from ferry.ui.downsample import downsample
from ferry.ui.series import number

__all__ = ["RunsSource"]

Sample = dict[str, Any]
Reading = Callable[[Sample], float | None]
SYSTEM: tuple[tuple[str, str], ...] = (
    ("CPU", "cpu_percent"),
    ("memory", "mem_percent"),
    ("disk", "disk_percent"),
)


class RunsSource:
    """Read-only views of the runs in a ledger.

    Args:
        reader: reads the ledger and the runs' S3 prefixes.
    """

    def __init__(self, reader: RunsReader) -> None:
        self._reader = reader

    @classmethod
    def open(cls, settings: Settings, ledger: Ledger | None = None) -> RunsSource:
        """The runs of ``ledger`` (the user state folder's, as ``ferry runs ls``), read
        from S3 with ``settings`` (endpoint, credentials, the workspace's SSE-C key)."""
        return cls(RunsReader(ledger or Ledger(), S3Options.from_settings(settings)))

    @property
    def folder(self) -> str:
        return str(self._reader.ledger.folder)

    def any(self) -> bool:
        """Whether the ledger has a run."""
        return bool(self._reader.ledger.run_ids())

    def runs(self) -> dict[str, Any]:
        """Every run of the ledger, newest first."""
        return {"ledger": self.folder, "runs": self._reader.summaries()}

    def run(self, run_id: str) -> dict[str, Any]:
        """One run: summary, phase timeline, latest heartbeat, report, cost, problems."""
        return self._reader.detail(run_id)

    def log(self, run_id: str, max_chars: int) -> dict[str, Any]:
        """The end of the training's output."""
        return {"run_id": run_id, "text": self._reader.log_tail(run_id, max_chars=max_chars)}

    def resources(self, run_id: str, width: int) -> dict[str, Any]:
        """The heartbeats as charts (x: seconds since 1970), each series thinned for
        ``width`` pixels: CPU, memory and disk, then each GPU's use and memory."""
        found = self._reader.heartbeats(run_id)
        samples = [s for s in found["samples"] if _time(s) is not None]
        times = [_time(s) or 0.0 for s in samples]
        gpus = sorted({g.get("index") for s in samples for g in _gpus(s)}, key=str)
        charts = [
            _chart("CPU, memory and disk (%)", times, samples, width, _system()),
            _chart("GPUs (%)", times, samples, width, _gpu_readings(gpus)),
        ]
        latest = samples[-1] if samples else None
        return {
            "run_id": run_id,
            "history": found["history"],
            "count": len(samples),
            "charts": [c for c in charts if c["series"]],
            "latest": latest,
        }


def _time(sample: Sample) -> float | None:
    try:
        return datetime.fromisoformat(sample["time"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def _gpus(sample: Sample) -> list[dict[str, Any]]:
    gpus = sample.get("gpus")
    return [g for g in gpus if isinstance(g, dict)] if isinstance(gpus, list) else []


def _system() -> list[tuple[str, Reading]]:
    return [(name, partial(_field, key=key)) for name, key in SYSTEM]


def _gpu_readings(indices: Sequence[Any]) -> list[tuple[str, Reading]]:
    readings: list[tuple[str, Reading]] = []
    for index in indices:
        readings.append((f"gpu{index} use", partial(_gpu_use, index=index)))
        readings.append((f"gpu{index} memory", partial(_gpu_memory, index=index)))
    return readings


def _field(sample: Sample, key: str) -> float | None:
    return number(sample.get(key))


def _gpu(sample: Sample, index: Any) -> dict[str, Any]:
    return next((g for g in _gpus(sample) if g.get("index") == index), {})


def _gpu_use(sample: Sample, index: Any) -> float | None:
    return number(_gpu(sample, index).get("util_percent"))


def _gpu_memory(sample: Sample, index: Any) -> float | None:
    gpu = _gpu(sample, index)
    used, total = number(gpu.get("mem_used_bytes")), number(gpu.get("mem_total_bytes"))
    return round(100.0 * used / total, 1) if used is not None and total else None


def _chart(
    title: str,
    times: list[float],
    samples: list[Sample],
    width: int,
    readings: list[tuple[str, Reading]],
) -> dict[str, Any]:
    series = []
    for name, read in readings:
        values = [read(s) for s in samples]
        if all(v is None for v in values):
            continue
        xs, ys = downsample(times, values, width)
        series.append({"name": name, "x": xs, "y": ys, "last": values[-1]})
    return {"title": title, "series": series}
