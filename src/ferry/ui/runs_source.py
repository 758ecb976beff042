"""PLACEHOLDER, NOT BUILT: the Runs page's adapter to EC2 training runs.

EC2 runs (``ferry run``, issue 9) are being built separately. When they land, this module
becomes the one place ``ferry.ui`` reads them, through ``ferry.runs``' public API: the
ledger of runs and each run's S3 status (phase, heartbeat age, resource samples, log tail,
report and cost), refreshed while a run is running. Until then the ``/runs`` page and the
``/api/runs`` endpoint answer 501 Not Implemented, and no page links to them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_BUILT", "RunsSource"]

NOT_BUILT = (
    "Runs are not in the dashboard yet: EC2 training runs (issue 9) are being built, and "
    "this page will show each run's phase, heartbeat, resources, log tail, report and cost."
)


class RunsSource:
    """Stands where the runs reader will be; ``available`` is False and every read says
    why, so nothing can mistake it for a working page."""

    available = False

    def runs(self) -> list[dict[str, Any]]:
        raise NotImplementedError(NOT_BUILT)
