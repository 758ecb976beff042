"""Workspace sync with S3 (seed 002): folders mapped to prefixes, each with a direction
and a conflict rule; a pure plan, then concurrent transfers; content-exact change
detection; full sync with deletes; SSE-C and storage class from the storage layer."""

from __future__ import annotations

from ferry.sync.apply import Report
from ferry.sync.plan import Action, Plan, plan
from ferry.sync.run import Mode, Outcome, Progress, WorkspaceResult, run_mapping, run_workspace
from ferry.sync.workspace import Mapping, Workspace, find_workspace, init_workspace

__all__ = [
    "Action",
    "Mapping",
    "Mode",
    "Outcome",
    "Plan",
    "Progress",
    "Report",
    "Workspace",
    "WorkspaceResult",
    "find_workspace",
    "init_workspace",
    "plan",
    "run_mapping",
    "run_workspace",
]
