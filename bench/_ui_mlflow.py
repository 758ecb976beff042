"""Fill an MLflow file store with bench/ui.py's data; run in MLflow's own venv.

    python _ui_mlflow.py STORE_URI DATA_JSON

Prints one JSON line: the experiment id and the ids of the runs that have a series.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    store_uri, data_path = sys.argv[1:3]
    with open(data_path) as file:
        data = json.load(file)
    client = MlflowClient(tracking_uri=store_uri)
    experiment_id = client.create_experiment(data["project"])
    series_runs = {}
    for experiment in data["experiments"]:
        run = client.create_run(experiment_id, run_name=experiment["name"])
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        params = [Param(k, str(v)) for k, v in experiment["params"].items()]
        metrics = [Metric(k, v, now, 0) for k, v in experiment["metrics"].items()]
        tags = [RunTag(f"tag.{t}", "") for t in experiment["tags"]]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        points = experiment.get("series") or []
        for start in range(0, len(points), 1000):  # MLflow takes 1,000 metrics a batch
            chunk = [
                Metric(data["series_metric"], value, now + step * 1000, step)
                for step, value in enumerate(points[start : start + 1000], start)
            ]
            client.log_batch(run_id, metrics=chunk)
        if points:
            series_runs[experiment["name"]] = run_id
        client.set_terminated(run_id)
    print(json.dumps({"experiment_id": experiment_id, "series_runs": series_runs}))


if __name__ == "__main__":
    main()
