"""``ferry exec``: the on-instance side of a run (see :mod:`.supervisor`).

A supervisor with training as its child: checkout, pull, verify, setup, train, push
whatever happened, manifest, final marker; S3 is the message bus. It reads its rank from
the engine around it (torchrun, SkyPilot, SageMaker) and can write a SkyPilot task that
calls it on every node (:mod:`.skypilot`).
"""

from __future__ import annotations

from ferry.runs.executor.ranks import Rank, rank_from_env
from ferry.runs.executor.supervisor import ExecRequest, ExecResult, MetricsFactory, execute

__all__ = ["ExecRequest", "ExecResult", "MetricsFactory", "Rank", "execute", "rank_from_env"]
