"""Experiment tracking compatible with rubicon-ml: same API, same on-disk layout.

Roots written by rubicon-ml read in ferry and the other way round; S3 is fast because
duplicate checks are conditional writes, reads are listed once and fetched concurrently,
and records already read are kept locally by ETag (an unchanged project costs a listing).

The reader behind ``project.experiments()``, ``experiment.metrics()`` and ``to_df()`` is
safe to share between threads (a web dashboard builds one :class:`Rubicon` per root).
"""

from __future__ import annotations

from ferry.errors import RubiconException
from ferry.tracking.aio import AsyncRubicon
from ferry.tracking.annotated import TagContainer
from ferry.tracking.client import Project, Rubicon
from ferry.tracking.entities import Artifact, Dataframe, Experiment, Feature, Metric, Parameter
from ferry.tracking.failure import set_failure_mode
from ferry.tracking.rubicon_json import RubiconJSON
from ferry.tracking.writer import WriteHandle

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
    "RubiconJSON",
    "TagContainer",
    "WriteHandle",
    "set_failure_mode",
]
