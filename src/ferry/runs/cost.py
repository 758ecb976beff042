"""Cost estimates from a bundled price table: instance-hours and EBS GB-hours.

The table (``prices.json``) lists us-east-1 on-demand prices; it says where they come
from. An estimate is an estimate: the bill is the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Cost", "estimate", "hourly_price"]


@cache
def _table() -> dict[str, Any]:
    return json.loads(resources.files("ferry.runs").joinpath("prices.json").read_text())  # type: ignore[no-any-return]


def hourly_price(instance_type: str, override: float | None = None) -> float | None:
    """Dollars per hour of ``instance_type`` (None when the table does not list it)."""
    if override is not None:
        return float(override)
    price = _table()["instance_hour"].get(instance_type)
    return None if price is None else float(price)


@dataclass(frozen=True)
class Cost:
    """An estimate in dollars; ``instance`` is None when the instance type has no price."""

    instance: float | None
    ebs: float
    hours: float

    @property
    def total(self) -> float | None:
        return None if self.instance is None else round(self.instance + self.ebs, 4)

    def text(self) -> str:
        if self.total is None:
            return f"unknown (no price for the instance type; EBS ${self.ebs:.4f})"
        return f"${self.total:.4f} (instance ${self.instance:.4f} + EBS ${self.ebs:.4f})"


def estimate(
    instance_type: str, seconds: float, volume_gb: int, override: float | None = None
) -> Cost:
    """The cost of ``seconds`` of one instance with ``volume_gb`` of gp3 attached."""
    table = _table()
    hours = max(seconds, 0.0) / 3600
    price = hourly_price(instance_type, override)
    ebs = volume_gb * hours * table["ebs_gp3_gb_month"] / table["hours_per_month"]
    return Cost(None if price is None else round(price * hours, 4), round(ebs, 4), hours)
