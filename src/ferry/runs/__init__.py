"""Training runs on EC2 with no ghost costs (seed 002, workflow A-D).

The dev-machine side (provision, monitor, tear down, report) and the on-instance side
(``ferry exec``, in :mod:`ferry.runs.executor`) share the names in :mod:`ferry.runs.layout`
and the run config in :mod:`ferry.runs.runconfig`. Nothing here is imported by
``import ferry``; boto3 is loaded only when AWS is called.
"""

from __future__ import annotations

from ferry.runs.runconfig import GitSource, RunConfig, WorkspaceConfig

__all__ = ["GitSource", "RunConfig", "WorkspaceConfig"]
