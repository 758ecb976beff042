"""Experiment tracking compatible with rubicon-ml: same API, same on-disk layout.

Roots written by rubicon-ml read in ferry and the other way round; S3 is fast because
duplicate checks are conditional writes and reads are listed once and fetched concurrently.
"""

from __future__ import annotations

from ferry.errors import RubiconException
from ferry.tracking.aio import AsyncRubicon
from ferry.tracking.client import Project, Rubicon
from ferry.tracking.entities import Artifact, Dataframe, Experiment, Feature, Metric, Parameter

__all__ = [
    "Artifact",
    "AsyncRubicon",
    "Dataframe",
    "Experiment",
    "Feature",
    "Metric",
    "Parameter",
    "Project",
    "Rubicon",
    "RubiconException",
]
