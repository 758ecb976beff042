"""Teardown (workflow D): wait (bounded) for the final marker, verify the push, destroy
everything the run created, prove nothing is left, and write the report.

Safe to run again at any time (``ferry runs stop``, ``ferry sweep``): what is gone is
skipped, what was destroyed before is read back from the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ferry.errors import FerryError, NotFoundError
from ferry.runs.cost import estimate
from ferry.runs.ec2 import DependencyError
from ferry.runs.launch import RunEnv
from ferry.runs.layout import FINAL, MANIFEST, STATUS
from ferry.runs.ledger import RunRecord
from ferry.runs.monitor import read_json, request_cancel
from ferry.runs.plan import teardown_plan
from ferry.runs.provider import Resource
from ferry.runs.report import Verification, build_report, store_report
from ferry.storage.base import Store
from ferry.sync.scan import CHECKSUM_KEY

__all__ = ["Teardown", "Verification", "run_cost", "verify_manifest"]

Event = Callable[[str], None]


def verify_manifest(manifest: dict[str, Any] | None, bucket: Store) -> Verification:
    """Every manifest entry must be in S3 with its size and checksum."""
    if manifest is None:
        return Verification(problem="no manifest.json: what the instance pushed is unproven")
    result = Verification(files=len(manifest.get("files", [])))
    for entry in manifest.get("files", []):
        try:
            info = bucket.head(entry["key"])
        except NotFoundError:
            result.missing.append(entry["key"])
            continue
        except FerryError as exc:
            result.problem = f"S3 could not be read to verify the push: {exc.problem}"
            return result
        checksum = info.metadata.get(CHECKSUM_KEY)
        if info.size != entry["size"] or (entry.get("checksum") and checksum != entry["checksum"]):
            result.mismatched.append(entry["key"])
        else:
            result.ok += 1
    return result


class Teardown:
    """Tear down one run.

    Args:
        env: provider, ledger, S3.
        record: the run's ledger record.
        on_event: progress lines for the user.
        wait_terminated_s: bound on waiting for instances to reach ``terminated``.
        retry_s: bound on retrying a delete that meets ``DependencyViolation``.
    """

    def __init__(
        self,
        env: RunEnv,
        record: RunRecord,
        *,
        on_event: Event = lambda _: None,
        wait_terminated_s: float = 600,
        retry_s: float = 300,
    ) -> None:
        self.env, self.record, self.on_event = env, record, on_event
        self.run_id = record.run_id
        self.wait_terminated_s, self.retry_s = wait_terminated_s, retry_s
        start = record.start
        self.run_url: str | None = start.get("run_url")
        self.stores = env.stores(self.run_url, bool(start.get("sse_c"))) if self.run_url else None
        self.problems: list[str] = []

    def run(
        self, *, cancel: str | None = None, final_wait_s: float | None = None
    ) -> dict[str, Any]:
        """Do it all; the report (also stored beside the run and in the ledger folder)."""
        began = time.monotonic()
        self.env.ledger.append(self.run_id, "teardown-start", cancel=cancel)
        bus = self.stores.bus() if self.stores else None
        final = self._final(bus, cancel, final_wait_s) if bus else None
        verification = self._verify(bus)
        self._destroy()
        left = self._left()
        report = self._report(final, bus, verification, left, time.monotonic() - began)
        self.env.ledger.append(self.run_id, "teardown-done", left=len(left))
        return report

    # -- waiting for the instance's last word --------------------------------------------
    def _final(self, bus: Store, cancel: str | None, wait_s: float | None) -> dict[str, Any] | None:
        final = read_json(bus, FINAL)
        if final is not None:
            return final
        instances = self.record.created.get("instance", [])
        if cancel and instances:
            try:
                request_cancel(bus, cancel)
                self.on_event("asked the instance to stop (control/cancel)")
            except FerryError as exc:
                self.problems.append(f"could not write control/cancel: {exc.problem}")
        wait_s = self.record.start.get("final_wait_s", 300) if wait_s is None else wait_s
        deadline, ended_at = time.monotonic() + wait_s, None
        while instances and time.monotonic() < deadline:
            final = read_json(bus, FINAL)
            if final is not None:
                return final
            seen = self.env.provider.instances(instances)
            if ended_at is None and seen and not any(r.left for r in seen):
                ended_at = time.monotonic()  # the instance is gone: S3 has what it wrote
            if ended_at is not None and time.monotonic() - ended_at > 2 * self.env.poll_s:
                break
            self.env.sleep()
        self.problems.append("no final.json from the instance: the push may be incomplete")
        return None

    def _verify(self, bus: Store | None) -> Verification:
        if bus is None or self.stores is None:
            return Verification(problem="no run prefix in the ledger: nothing to verify")
        try:
            return verify_manifest(read_json(bus, MANIFEST), self.stores.bucket())
        except FerryError as exc:
            return Verification(problem=f"could not verify the push: {exc.problem}")

    # -- destroying ----------------------------------------------------------------------
    def _destroy(self) -> None:
        provider = self.env.provider
        found = provider.resources(self.run_id)
        plan = teardown_plan(self.record.created.get("instance", []), found)
        for request in plan.cancel:
            self._delete(request)
        recorded = {e.get("id") for e in self.record.events if e.get("event") == "destroyed"}
        for instance_id in plan.ended:
            if instance_id not in recorded:  # it ended itself (or a crashed teardown ended it)
                self._destroyed("instance", instance_id, "already terminated")
        if plan.terminate:
            try:
                provider.terminate(plan.terminate)
            except FerryError as exc:  # the rest is still torn down; the report says so
                self.problems.append(f"instances {plan.terminate} not terminated: {exc.problem}")
            else:
                for instance_id in plan.terminate:
                    self._destroyed("instance", instance_id, "terminated")
                self._wait_terminated(plan.terminate)
        # A listing after the instances are gone: volumes they held are now available.
        after = provider.resources(self.run_id)
        self._gone_with_instances(found, after)
        for resource in teardown_plan([], after).delete:
            self._delete(resource)

    def _gone_with_instances(self, before: list[Resource], after: list[Resource]) -> None:
        """Volumes attached before termination and gone after it (DeleteOnTermination)."""
        remaining = {r.id for r in after}
        for volume in before:
            if volume.kind == "volume" and volume.state == "in-use" and volume.id not in remaining:
                self._destroyed("volume", volume.id, "deleted with the instance")

    def _wait_terminated(self, ids: list[str]) -> None:
        deadline = time.monotonic() + self.wait_terminated_s
        while time.monotonic() < deadline:
            states = self.env.provider.instances(ids)
            if len(states) == len(ids) and all(not r.left for r in states):
                self.env.ledger.append(self.run_id, "terminated", ids=ids)
                return
            self.env.sleep()
        self.problems.append(
            f"instances not terminated after {self.wait_terminated_s:.0f} s: {ids}"
        )

    def _delete(self, resource: Resource) -> None:
        deadline, pause = time.monotonic() + self.retry_s, self.env.poll_s
        while True:
            try:
                self.env.provider.delete(resource)
                self._destroyed(resource.kind, resource.id, "deleted")
                return
            except DependencyError:
                if time.monotonic() > deadline:
                    self.problems.append(f"{resource} still in use after {self.retry_s:.0f} s")
                    return
                self.on_event(f"{resource} still in use; retrying")
                self.env.sleep(pause)
                pause = min(pause * 2, 30)
            except FerryError as exc:  # refused (a policy, throttling): go on with the rest
                self.problems.append(f"{resource} could not be deleted: {exc.problem}")
                return

    def _destroyed(self, kind: str, resource_id: str, how: str) -> None:
        self.env.ledger.append(self.run_id, "destroyed", kind=kind, id=resource_id, how=how)
        self.on_event(f"{kind} {resource_id}: {how}")

    # -- proving nothing is left ---------------------------------------------------------
    def _left(self) -> list[Resource]:
        """Cross-check the tagging API against describe calls; what is still there."""
        provider = self.env.provider
        described = {r.id: r for r in provider.resources(self.run_id)}
        left = [r for r in described.values() if r.left]
        for tagged in provider.tagged(self.run_id):
            rid = tagged.resource_id
            if rid in described:
                continue
            if tagged.kind == "instance":
                left += [r for r in provider.instances([rid]) if r.left]
            elif tagged.kind not in (
                "volume",
                "security-group",
                "parameter",
                "network-interface",
                "spot-instances-request",
            ):
                self.problems.append(f"tagged {tagged.arn} is of a kind ferry does not create")
        return left

    # -- the report ----------------------------------------------------------------------
    def _report(
        self,
        final: dict[str, Any] | None,
        bus: Store | None,
        verification: Verification,
        left: list[Resource],
        seconds: float,
    ) -> dict[str, Any]:

        status = read_json(bus, STATUS) if bus else None
        record = self.env.ledger.read(self.run_id)
        report = build_report(
            record,
            final=final,
            status=status,
            verification=verification,
            left=left,
            problems=self.problems,
            teardown_s=seconds,
            now=self.env.clock(),
            cost=run_cost(record),
        )
        store_report(report, bus, self.env.ledger, self.problems)
        return report


def run_cost(record: RunRecord) -> dict[str, Any]:
    """The report's cost: from the instance's creation to its termination (or the last
    ledger line), at the bundled price or the run file's ``price_per_hour``."""
    start = record.start
    launched = next(
        (
            e["time"]
            for e in record.events
            if e.get("event") == "created" and e.get("kind") == "instance"
        ),
        None,
    )
    if launched is None:
        return {"total": 0.0, "text": "$0 (no instance was created)"}
    ended = record.last("terminated")
    end = ended["time"] if ended else record.events[-1]["time"]
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(launched)).total_seconds()
    cost = estimate(
        start.get("instance_type", ""),
        seconds,
        int(start.get("volume_gb", 0)),
        start.get("price_per_hour"),
    )
    return {
        "instance_type": start.get("instance_type"),
        "hours": round(cost.hours, 4),
        "instance": cost.instance,
        "ebs": cost.ebs,
        "total": cost.total,
        "text": cost.text(),
    }
