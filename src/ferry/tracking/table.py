"""Experiments side by side: the table behind ``project.to_df()`` and ``ferry experiments``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ferry.tracking.entities import Experiment

__all__ = ["BASE_COLUMNS", "experiment_rows", "experiments_frame"]

BASE_COLUMNS = ["id", "name", "description", "model_name", "commit_hash", "tags", "created_at"]


def experiment_rows(
    experiments: Sequence[Experiment],
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """A record per experiment, and the parameter and metric names in first-seen order.

    A parameter and a metric with the same name share one column; the metric wins.
    """
    rows: list[dict[str, Any]] = []
    parameters: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for experiment in experiments:
        row: dict[str, Any] = {
            "id": experiment.id,
            "name": experiment.name,
            "description": experiment.description,
            "model_name": experiment.model_name,
            "commit_hash": experiment.commit_hash,
            "tags": list(experiment.tags),
            "created_at": experiment.created_at,
        }
        for name, value in experiment._values("parameters"):
            row[name] = value
            parameters[name] = None
        for name, value in experiment._values("metrics"):
            row[name] = value
            metrics[name] = None
        rows.append(row)
    return rows, list(parameters), [m for m in metrics if m not in BASE_COLUMNS]


def experiments_frame(
    experiments: Sequence[Experiment], *, df_type: str = "pandas", group_by: str | None = None
) -> Any:
    """A pandas (or dask) frame of the experiments, newest first."""
    import pandas as pd

    if group_by not in (None, "commit_hash"):
        raise ValueError("`group_by` must be one of ['commit_hash'] or `None`.")
    rows, parameters, metrics = experiment_rows(experiments)
    columns = BASE_COLUMNS + [p for p in parameters if p not in metrics] + metrics
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame = frame.sort_values(by=["created_at"], ascending=False).reset_index(drop=True)
    if group_by is not None:
        return {key: _as(group, df_type) for key, group in frame.groupby(group_by, dropna=False)}
    return _as(frame, df_type)


def _as(frame: Any, df_type: str) -> Any:
    if df_type == "pandas":
        return frame
    if df_type == "dask":
        try:
            import dask.dataframe as dd
        except ImportError:
            from ferry.errors import RubiconException

            raise RubiconException(
                "df_type='dask' needs dask, which is not installed.",
                "pip install 'dask[dataframe]'",
            ) from None
        return dd.from_pandas(frame, npartitions=1)
    raise ValueError(f"`df_type` must be one of ['pandas', 'dask'], not {df_type!r}")
