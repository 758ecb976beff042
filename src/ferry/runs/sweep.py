"""Leftovers of dead runs: found by tag, judged by the ledger and the expiry tag, removed
by the same teardown a run uses (``ferry sweep``, and at the start of ``ferry run``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferry.errors import FerryError
from ferry.runs.launch import RunEnv
from ferry.runs.layout import TAG_EXPIRES
from ferry.runs.plan import RunFacts, Verdict, classify_runs
from ferry.runs.provider import Resource
from ferry.runs.teardown import Teardown

__all__ = ["Leftovers", "find_leftovers", "sweep"]


@dataclass(frozen=True)
class Leftovers:
    """Runs with resources left, each with its verdict (dead, live, foreign)."""

    resources: dict[str, list[Resource]]
    verdicts: dict[str, Verdict]

    def of(self, verdict: Verdict) -> list[str]:
        return sorted(r for r, v in self.verdicts.items() if v == verdict)


def _expiry(tags: list[dict[str, str]]) -> datetime | None:
    found = [
        datetime.fromisoformat(t[TAG_EXPIRES].replace("Z", "+00:00"))
        for t in tags
        if TAG_EXPIRES in t
    ]
    return min(found) if found else None


def find_leftovers(env: RunEnv) -> Leftovers:
    """Every run that still has something (by describe calls and the tagging API)."""
    resources: dict[str, list[Resource]] = {}
    for resource in env.provider.resources():
        if resource.left and resource.run_id:
            resources.setdefault(resource.run_id, []).append(resource)
    tags: dict[str, list[dict[str, str]]] = {}
    for tagged in env.provider.tagged():
        run_id = tagged.tags.get("ferry:run")
        if run_id:
            tags.setdefault(run_id, []).append(dict(tagged.tags))
    facts = []
    known = set(env.ledger.run_ids())
    for run_id, items in resources.items():
        record = env.ledger.read(run_id) if run_id in known else None
        facts.append(
            RunFacts(
                run_id,
                _expiry(tags.get(run_id, []) + [dict(r.tags) for r in items]),
                record is not None,
                bool(record and record.torn_down),
                bool(record and record.orchestrator_alive),
                bool(record and record.launched_here),
            )
        )
    return Leftovers(resources, classify_runs(facts, env.clock()))


def sweep(
    env: RunEnv,
    leftovers: Leftovers,
    *,
    only: list[str] | None = None,
    on_event: Callable[[str], None] = lambda _: None,
    final_wait_s: float | None = None,
) -> list[dict[str, Any]]:
    """Tear down the dead runs (or those in ``only``); their reports."""
    targets = only if only is not None else leftovers.of("dead")
    reports, failed = [], []
    for run_id in targets:
        if run_id in env.ledger.run_ids():
            record = env.ledger.read(run_id)
        else:
            env.ledger.append(
                run_id, "start", adopted=True
            )  # a run from elsewhere: record what we do
            record = env.ledger.read(run_id)
        on_event(f"sweeping {run_id}")
        try:
            reports.append(
                Teardown(env, record, on_event=on_event).run(
                    cancel="swept: its orchestrator is gone", final_wait_s=final_wait_s
                )
            )
        except FerryError as exc:  # one run's failure does not spare the others
            on_event(f"{run_id}: not swept: {exc.problem}")
            failed.append(f"{run_id} ({exc.problem})")
    if failed:
        raise FerryError(
            f"Could not sweep {len(failed)} run(s): {'; '.join(failed)}.",
            "Fix what is named (credentials, permissions, the endpoint) and run "
            "'ferry sweep' again; the other runs were swept.",
        )
    return reports
