"""A small, realistic tracking project for the dashboard's tests (and its screenshot)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ferry.tracking import Rubicon

PROJECT = "Churn Model"
OPTIMIZERS = ("adam", "sgd", "adamw")


def fill(rubicon: Rubicon, experiments: int = 12, steps: int = 120) -> dict[str, Any]:
    """Log ``experiments`` runs: parameters, final metrics, a loss and an accuracy series
    of ``steps`` steps, features, and on the first run an artifact and a dataframe.
    Returns the runs' names and ids, and each run's values, for the tests to check."""
    import pandas as pd

    rng = random.Random(7)
    project = rubicon.create_project(PROJECT, description="monthly churn")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    runs = []
    for index in range(experiments):
        rate = [0.001, 0.003, 0.01, 0.03][index % 4]
        depth = 3 + index % 5
        optimizer = OPTIMIZERS[index % 3]
        tags = ["baseline" if index < 3 else "sweep", f"opt:{optimizer}"]
        run = project.log_experiment(
            f"gbm-{index:02d}", model_name="GradientBoosting", tags=tags, commit_hash="abc1234"
        )
        run.log_parameter("learning_rate", rate)
        run.log_parameter("max_depth", depth)
        run.log_parameter("optimizer", optimizer)
        floor = 0.12 + 0.04 * abs(math.log10(rate) + 2) + 0.01 * abs(depth - 5)
        for step in range(steps):
            loss = floor + 1.2 * math.exp(-step * rate * 8) + rng.uniform(0, 0.02)
            moment = start + timedelta(hours=index, seconds=step * 5)
            run.log_metric("loss", loss, directionality="loss", step=step, timestamp=moment)
            run.log_metric("accuracy", 1 - loss / 2, step=step, timestamp=moment)
        run.log_metric("auc", round(0.95 - floor / 2 + rng.uniform(-0.01, 0.01), 4))
        for name, weight in (("tenure", 0.41), ("monthly_charges", 0.27), ("contract", 0.18)):
            run.log_feature(name, importance=round(weight + rng.uniform(-0.05, 0.05), 3))
        runs.append({"name": run.name, "id": run.id, "rate": rate, "depth": depth, "tags": tags})
    first = project.experiments()[0]
    first.log_artifact(data_bytes=b"weights \x00\x01", name="model.bin")
    first.log_dataframe(
        pd.DataFrame(
            {"customer": [1, 2, 3], "churned": [True, False, True], "score": [0.9, 0.2, 0.7]}
        ),
        name="predictions",
    )
    return {"project": PROJECT, "runs": runs}
