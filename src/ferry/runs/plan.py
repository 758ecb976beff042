"""Pure decisions: what to create and in which order, what to destroy and in which order,
and which runs are dead. The side effects are thin loops elsewhere (launch, teardown)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ferry.runs.layout import client_token
from ferry.runs.provider import Resource

__all__ = [
    "RunFacts",
    "Step",
    "TeardownPlan",
    "classify_run",
    "classify_runs",
    "provision_plan",
    "teardown_plan",
]

StepKind = Literal["put-secret", "create-ssh-group", "upload-bundle", "run-instance"]
# Deletion order after the instances are gone: nothing may still use what is deleted.
DELETE_ORDER = ("spot-request", "volume", "network-interface", "security-group", "ssm-parameter")


@dataclass(frozen=True)
class Step:
    """One create call of provisioning, with its idempotency token."""

    kind: StepKind
    name: str
    token: str


def provision_plan(run_id: str, secrets: Sequence[str], allow_ssh: bool) -> list[Step]:
    """Secrets first (the instance reads them), then the SSH group, the bundle, the instance."""
    steps = [Step("put-secret", name, client_token(run_id, name)) for name in secrets]
    if allow_ssh:
        steps.append(Step("create-ssh-group", "ssh", client_token(run_id, "ssh")))
    steps.append(Step("upload-bundle", "bundle", client_token(run_id, "bundle")))
    steps.append(Step("run-instance", "instance", client_token(run_id, "instance")))
    return steps


@dataclass(frozen=True)
class TeardownPlan:
    """Instances to terminate and wait for, then the rest to delete, in order; and the
    instances that had already ended (the report names them too)."""

    cancel: list[Resource] = field(default_factory=list)
    terminate: list[str] = field(default_factory=list)
    delete: list[Resource] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.cancel or self.terminate or self.delete)


def teardown_plan(ledger_ids: Iterable[str], found: Sequence[Resource]) -> TeardownPlan:
    """From the instance ids the ledger recorded and what describe calls found by tag.

    Instances are terminated by ledger id *and* by tag (an id lost to a crash is still
    found by its tag; a tag never applied is still covered by the id). An instance the
    ledger names but no listing shows is terminated anyway: it may not be visible yet.
    """
    by_id = {r.id: r for r in found if r.kind == "instance"}
    ids = dict.fromkeys([*ledger_ids, *by_id])
    terminate = [i for i in ids if i not in by_id or by_id[i].left]
    ended = [i for i in ids if i not in terminate]
    spot = [r for r in found if r.kind == "spot-request" and r.left]
    rest = [r for r in found if r.kind not in ("instance", "spot-request") and r.left]
    rest.sort(key=lambda r: DELETE_ORDER.index(r.kind))
    return TeardownPlan(spot, terminate, rest, ended)


@dataclass(frozen=True)
class RunFacts:
    """What is known about a run that has resources left."""

    run_id: str
    expires: datetime | None
    in_ledger: bool
    torn_down: bool
    orchestrator_alive: bool
    launched_here: bool = True


Verdict = Literal["dead", "live", "foreign"]


def classify_run(fact: RunFacts, now: datetime) -> Verdict:
    """Dead runs may be swept; live ones are left alone; foreign ones are only shown.

    A run is dead when its expiry tag has passed, when its teardown already finished, or
    when this machine launched it and the launching process is gone (killed mid-run or
    mid-provision). A run launched elsewhere (another machine, or a ledger on a shared
    home folder) that has not expired is foreign: only its owner knows whether it lives.
    """
    if fact.expires is not None and fact.expires <= now:
        return "dead"
    if not fact.in_ledger:
        return "foreign"
    if fact.torn_down:
        return "dead"
    if not fact.launched_here:
        return "foreign"
    return "live" if fact.orchestrator_alive else "dead"


def classify_runs(facts: Iterable[RunFacts], now: datetime) -> dict[str, Verdict]:
    """:func:`classify_run` for each run."""
    return {fact.run_id: classify_run(fact, now) for fact in facts}
