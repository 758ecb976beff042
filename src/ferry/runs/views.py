"""What ``ferry runs ls`` and ``ferry runs watch`` show, computed from the ledger, S3 and
EC2 (rendering with rich stays here: it builds renderables, it prints nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.errors import ConfigError
from ferry.runs.bundle import RunStores
from ferry.runs.cost import estimate
from ferry.runs.launch import RunEnv
from ferry.runs.layout import run_started
from ferry.runs.monitor import LogCursor, snapshot
from ferry.runs.reader import RunsReader
from ferry.runs.report import stored_report

__all__ = ["run_rows", "run_stores", "watch_view"]


def run_stores(env: RunEnv, run_id: str) -> RunStores:
    record = env.ledger.read(run_id)
    url = record.start.get("run_url")
    if not url:
        raise ConfigError(
            f"The ledger has no S3 prefix for {run_id}.", "It was adopted by a sweep."
        )
    return env.stores(url, bool(record.start.get("sse_c")))


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def run_rows(env: RunEnv) -> list[dict[str, Any]]:
    """One row per run in the ledger: state, phase, age, cost so far or final, left."""
    return [
        {
            "run_id": run["run_id"],
            "state": run["state"],
            "phase": "" if run["done"] else run["phase"],
            "age": _age(run["age_s"]),
            "cost": run["cost"]["text"],
            "left": "" if run["left_count"] is None else run["left_count"],
        }
        for run in RunsReader(env.ledger, env.s3, env.clock).summaries()
    ]


def watch_view(env: RunEnv, run_id: str) -> Any:
    """A rich renderable: phase, instance and checks, heartbeat, resources, logs, metrics, cost."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    record = env.ledger.read(run_id)
    stores = run_stores(env, run_id)
    snap = snapshot(stores.bus())
    status, beat = snap["status"] or {}, snap["heartbeat"] or {}
    instances = record.created.get("instance", [])
    found = env.provider.instances(instances) if instances else []
    state = found[0].state if found else "not created"
    checks = env.provider.status_checks(instances[0]) if found and found[0].left else "-"
    done = record.last("teardown-done")
    until = datetime.fromisoformat(done["time"]) if done else env.clock()
    elapsed = (until - run_started(run_id)).total_seconds()
    cost_text = (
        "cost so far "
        + estimate(
            record.start.get("instance_type", ""),
            elapsed,
            int(record.start.get("volume_gb", 0)),
            record.start.get("price_per_hour"),
        ).text()
    )
    report = stored_report(env.ledger, run_id)
    if report is not None:
        cost_text = f"torn down, cost {report['cost'].get('text')}, {report['left_count']} left"
    table = Table.grid(padding=(0, 2))
    beat_age = ""
    if beat.get("time"):
        beat_age = (
            f"{(env.clock() - datetime.fromisoformat(beat['time'])).total_seconds():.0f} s ago"
        )
    gpus = ", ".join(f"gpu{g['index']} {g['util_percent']}%" for g in beat.get("gpus", []))
    for name, value in (
        ("phase", f"{status.get('phase', '-')} ({status.get('state', 'starting')})"),
        ("instance", f"{', '.join(instances) or '-'} {state}, checks {checks}"),
        ("heartbeat", beat_age or "none yet"),
        (
            "resources",
            f"cpu {beat.get('cpu_percent', '-')}%  mem {beat.get('mem_percent', '-')}%  "
            f"disk {beat.get('disk_percent', '-')}%  {gpus}",
        ),
        ("metrics", ", ".join(f"{k}={v}" for k, v in (beat.get("metrics") or {}).items()) or "-"),
        ("elapsed", f"{elapsed:.0f} s, {cost_text}"),
    ):
        table.add_row(name, value)
    tail = "".join(LogCursor(stores.bus()).new_text()).splitlines()[-10:]
    return Group(
        Panel(table, title=f"ferry run {run_id}"),
        Panel(Text("\n".join(tail) or "(no output yet)"), title="log"),  # not markup
    )
