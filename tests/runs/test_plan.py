"""The pure decisions of runs, as tables: what provisioning creates and in which order,
what teardown destroys and in which order, and which runs a sweep may remove."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ferry.runs.layout import client_token
from ferry.runs.plan import RunFacts, TeardownPlan, classify_run, provision_plan, teardown_plan
from ferry.runs.provider import Resource

RUN = "train-20250101-120000-a1b2c3"


@pytest.mark.parametrize(
    ("secrets", "allow_ssh", "steps"),
    [
        ([], False, ["upload-bundle", "run-instance"]),
        (["sse-c-key"], False, ["put-secret:sse-c-key", "upload-bundle", "run-instance"]),
        (
            ["sse-c-key", "git-token"],
            True,
            [
                "put-secret:sse-c-key",
                "put-secret:git-token",
                "create-ssh-group",
                "upload-bundle",
                "run-instance",
            ],
        ),
    ],
)
def test_provision_order(secrets: list[str], allow_ssh: bool, steps: list[str]) -> None:
    """Secrets before the instance that reads them; the instance last; never a key pair,
    an Elastic IP or a NAT (no such step exists)."""
    plan = provision_plan(RUN, secrets, allow_ssh)
    assert [s.kind + (f":{s.name}" if s.kind == "put-secret" else "") for s in plan] == steps


def test_client_tokens_are_derived_from_the_run_id() -> None:
    plan = provision_plan(RUN, ["sse-c-key"], True)
    tokens = [s.token for s in plan]
    assert tokens == [s.token for s in provision_plan(RUN, ["sse-c-key"], True)]  # a retry
    assert len(set(tokens)) == len(tokens) and all(t.startswith(RUN) for t in tokens)
    assert plan[-1].token == f"{RUN}/instance"
    other = provision_plan("train-20250101-120000-a1b2c4", [], False)
    assert other[-1].token != plan[-1].token


def test_long_client_tokens_stay_unique_within_ec2s_limit() -> None:
    long_run = "a" * 41 + "-20250101-120000-a1b2c3"
    first, second = client_token(long_run, "instance"), client_token(long_run, "instancf")
    assert len(first) == len(second) == 64 and first != second


def res(kind: str, rid: str, state: str = "present") -> Resource:
    return Resource(kind, rid, state, {"ferry:run": RUN})  # type: ignore[arg-type]


def ids(plan: TeardownPlan) -> tuple[list[str], list[str], list[str], list[str]]:
    return (
        [r.id for r in plan.cancel],
        plan.terminate,
        [r.id for r in plan.delete],
        plan.ended,
    )


@pytest.mark.parametrize(
    ("ledger", "found", "expected"),
    [
        # nothing recorded, nothing found: nothing to do
        ([], [], ([], [], [], [])),
        # a running instance known to both: terminate it; then its volume, if it outlived it
        (
            ["i-1"],
            [res("instance", "i-1", "running"), res("volume", "v-1", "in-use")],
            ([], ["i-1"], ["v-1"], []),
        ),
        # the ledger's id, not (yet) visible to describe calls: terminate it anyway
        (["i-1"], [], ([], ["i-1"], [], [])),
        # an id lost to a crash (intent without id): found by its tag
        ([], [res("instance", "i-2", "pending")], ([], ["i-2"], [], [])),
        # it ended itself: nothing to terminate, but named
        (["i-1"], [res("instance", "i-1", "terminated")], ([], [], [], ["i-1"])),
        # stopped is not ended: a stopped instance keeps its volumes (and their cost)
        (["i-1"], [res("instance", "i-1", "stopped")], ([], ["i-1"], [], [])),
        # spot requests are cancelled first; deletes in dependency order
        (
            ["i-1"],
            [
                res("ssm-parameter", "/ferry/runs/x/sse-c-key"),
                res("security-group", "sg-1"),
                res("volume", "v-1", "available"),
                res("spot-request", "sir-1", "active"),
                res("spot-request", "sir-0", "cancelled"),
                res("instance", "i-1", "shutting-down"),
            ],
            (["sir-1"], ["i-1"], ["v-1", "sg-1", "/ferry/runs/x/sse-c-key"], []),
        ),
    ],
)
def test_teardown_plan(
    ledger: list[str],
    found: list[Resource],
    expected: tuple[list[str], list[str], list[str], list[str]],
) -> None:
    assert ids(teardown_plan(ledger, found)) == expected


def test_teardown_plan_terminates_each_instance_once() -> None:
    found = [res("instance", "i-1", "running"), res("instance", "i-2", "running")]
    plan = teardown_plan(["i-1", "i-1", "i-3"], found)
    assert plan.terminate == ["i-1", "i-3", "i-2"] and not plan.empty
    assert teardown_plan([], []).empty


NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("expires", "in_ledger", "torn_down", "alive", "here", "verdict"),
    [
        (LATER, True, False, True, True, "live"),  # being followed right now
        (LATER, True, False, False, True, "dead"),  # its ferry run was killed
        (LATER, True, True, True, True, "dead"),  # torn down, yet something is left
        (None, True, False, False, True, "dead"),  # no expiry tag found: the ledger decides
        (LATER, False, False, False, False, "foreign"),  # another machine's run
        (None, False, False, False, False, "foreign"),
        (LATER, True, False, False, False, "foreign"),  # a shared home: not ours to judge
        (EARLIER, False, False, False, False, "dead"),  # expired: dead wherever it came from
        (EARLIER, True, False, True, True, "dead"),  # expired even though followed
        (NOW, True, False, True, True, "dead"),  # the expiry instant itself
    ],
)
def test_which_runs_are_dead(
    expires: datetime | None,
    in_ledger: bool,
    torn_down: bool,
    alive: bool,
    here: bool,
    verdict: str,
) -> None:
    fact = RunFacts(RUN, expires, in_ledger, torn_down, alive, here)
    assert classify_run(fact, NOW) == verdict
