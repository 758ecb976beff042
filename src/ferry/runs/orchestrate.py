"""``ferry run`` end to end: sweep, launch, follow, tear down, whatever happens.

Teardown runs in a ``finally``: an error, a Ctrl-C (which first asks the instance to stop
and push) or a lost instance all end in the same teardown. If this process itself is
killed, the instance still ends itself (hard deadline) and the next ``ferry run`` or
``ferry sweep`` removes what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.errors import FerryError
from ferry.runs.cost import estimate
from ferry.runs.launch import Launched, RunEnv, launch
from ferry.runs.layout import FINAL, STATUS
from ferry.runs.monitor import LogCursor, read_json, request_cancel
from ferry.runs.spec import RunSpec
from ferry.runs.sweep import find_leftovers, sweep
from ferry.runs.teardown import Teardown
from ferry.sync.workspace import Workspace

__all__ = ["LOST_CONTACT_POLLS", "Callbacks", "follow", "run"]

LOST_CONTACT_POLLS = 30  # failed looks in a row (at the poll interval) before giving up


@dataclass
class Callbacks:
    """How a run talks to its user (the CLI prints; tests collect).

    Args:
        event: a progress line.
        log: new text of the training's log.
        tearing_down: called when teardown is about to start (at the first Ctrl-C, or when
            the run ended): from then on an interrupt would leave resources behind, so the
            CLI stops Ctrl-C from raising (SkyPilot #4410 leaked a cluster on a cancel).
        run_id: set as soon as the ledger names the run.
    """

    event: Callable[[str], None] = lambda _: None
    log: Callable[[str], None] = lambda _: None
    tearing_down: Callable[[], None] = lambda: None
    run_id: str | None = None


def follow(launched: Launched, spec: RunSpec, env: RunEnv, calls: Callbacks) -> str:
    """Watch the run until it ends; why it ended (``final``, ``instance-gone``, ...). A
    look that fails (S3 or EC2 throttled, a dropped connection) is tried again at the next
    poll; only :data:`LOST_CONTACT_POLLS` failures in a row end the following."""
    bus = launched.stores.bus()
    logs, phase, begun = LogCursor(bus), "", time.monotonic()
    deadline = begun + spec.max_runtime_s + spec.grace_s + spec.boot_timeout_s
    price_per_s = (
        estimate(spec.instance_type, 3600, spec.root_volume_gb, spec.price_per_hour).total or 0
    ) / 3600
    gone_at: float | None = None
    over_budget = False

    def look() -> str | None:
        """One poll: why the run ended, or None while it goes on."""
        nonlocal phase, gone_at, over_budget
        for text in logs.new_text():
            calls.log(text)
        status = read_json(bus, STATUS) or {}
        if status.get("phase") and status["phase"] != phase:
            phase = status["phase"]
            calls.event(f"phase {phase}")
        if read_json(bus, FINAL) is not None:
            for text in logs.new_text():
                calls.log(text)
            return "final"
        now = time.monotonic()
        if not status and now - begun > spec.boot_timeout_s:
            return "no-status"
        if now > deadline:
            return "deadline"
        if (
            not over_budget
            and spec.budget is not None
            and (now - begun) * price_per_s > spec.budget
        ):
            request_cancel(bus, "budget reached")
            over_budget = True
            calls.event("budget reached: asked the instance to stop")
        seen = env.provider.instances([launched.instance_id])
        if gone_at is None and seen and not any(r.left for r in seen):
            gone_at = now  # ended (one not visible yet has not)
        if gone_at is not None and now - gone_at > 3 * env.poll_s:
            return "instance-gone"
        return None

    failures = 0
    while True:
        try:
            ended = look()
        except FerryError as exc:
            failures += 1
            if failures >= LOST_CONTACT_POLLS:
                calls.event(f"lost contact with the run: {exc.problem}")
                return "lost-contact"
            calls.event(f"could not look at the run ({exc.problem}); trying again")
        else:
            failures = 0
            if ended is not None:
                return ended
        env.sleep()


def run(
    spec: RunSpec,
    workspace: Workspace,
    env: RunEnv,
    *,
    secrets: Mapping[str, str],
    calls: Callbacks,
    sweep_yes: bool = False,
) -> dict[str, Any]:
    """Sweep dead runs' leftovers, launch, follow, and always tear down; the report."""
    leftovers = find_leftovers(env)
    for run_id in leftovers.of("dead"):
        names = ", ".join(str(r) for r in leftovers.resources[run_id])
        calls.event(f"leftovers of dead run {run_id}: {names}")
    if sweep_yes and leftovers.of("dead"):
        sweep(env, leftovers, on_event=calls.event, final_wait_s=0)
    elif leftovers.of("dead"):
        calls.event("remove them with 'ferry sweep' (or 'ferry run --yes')")
    launched: Launched | None = None
    cancel: str | None = None
    try:
        launched = launch(
            spec,
            workspace,
            env,
            secrets=secrets,
            on_event=calls.event,
            on_start=lambda run_id: setattr(calls, "run_id", run_id),
        )
        ended = follow(launched, spec, env, calls)
        calls.event(f"run ended ({ended})")
        if ended in ("no-status", "deadline", "lost-contact"):
            cancel = f"ferry run stopped following: {ended}"
    except Exception as exc:  # the teardown below still asks the instance to push first
        cancel = f"ferry run failed: {exc}"
        raise
    except KeyboardInterrupt:
        calls.tearing_down()  # a second Ctrl-C must not cut the teardown short
        cancel = "Ctrl-C on the dev machine"
        calls.event("Ctrl-C: asking the instance to stop and push, then tearing down")
        if launched is not None:
            try:
                request_cancel(launched.stores.bus(), cancel)
            except FerryError as exc:
                calls.event(f"could not write control/cancel: {exc.problem}")
        raise_after = True
    else:
        raise_after = False
    finally:
        report: dict[str, Any] = {}
        if calls.run_id is not None:  # the ledger names the run: tear down what it made
            calls.tearing_down()
            record = env.ledger.read(calls.run_id)
            report = Teardown(env, record, on_event=calls.event).run(cancel=cancel)
    if raise_after:
        report["interrupted"] = True
    return report
