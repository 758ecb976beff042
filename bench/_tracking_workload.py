"""One tool's tracking workload, run in that tool's own venv by bench/tracking.py.

    python _tracking_workload.py TOOL BACKEND ROOT [--experiments 200] [--metrics 1000]

TOOL: ferry | ferry-async | rubicon | mlflow (ferry-async: the same work through
ferry's asyncio client, with the calls of each step gathered, as seed 000 recommends for
S3). BACKEND: s3 | local | memory (ROOT: s3://... or a folder).
Prints one JSON line: the wall time of each phase, measured inside the process so that
interpreter start-up and imports are not counted.
  log_metrics   log --metrics metrics, one by one, in one experiment
  create        --experiments experiments x (10 parameters + 10 metrics)
  read_back     every experiment of the project, then its parameters and metrics
  to_df         the project as a table (rubicon/ferry: project.to_df(); mlflow: search_runs)
  growth        memory only: time of the last 10% of --metrics writes / the first 10%
"""

from __future__ import annotations

import argparse
import json
import os
import time


def rubicon_like(tool: str, backend: str, root: str):  # type: ignore[no-untyped-def]
    if tool == "ferry":
        from ferry import Rubicon

        options = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]} if backend == "s3" else {}
    else:
        from rubicon_ml import Rubicon

        options = (
            {
                "key": "test",
                "secret": "test",
                "client_kwargs": {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]},
            }
            if backend == "s3"
            else {}
        )
    if backend == "memory":
        return Rubicon(persistence="memory")
    return Rubicon(persistence="filesystem", root_dir=root, **options)


def run_rubicon_like(args: argparse.Namespace) -> dict[str, float]:
    rb = rubicon_like(args.tool, args.backend, args.root)
    timings: dict[str, float] = {}
    experiment = rb.create_project("metrics").log_experiment("one")
    started = time.perf_counter()
    marks = []
    for i in range(args.metrics):
        experiment.log_metric(f"metric_{i}", i / 7)
        if i in (args.metrics // 10 - 1, args.metrics - args.metrics // 10 - 1):
            marks.append(time.perf_counter())
    end = time.perf_counter()
    timings["log_metrics"] = end - started
    if args.backend == "memory":
        first, last = marks[0] - started, end - marks[1]
        timings["growth"] = last / first
    project = rb.create_project("grid")
    started = time.perf_counter()
    for i in range(args.experiments):
        run = project.log_experiment(f"run-{i}", tags=["grid"])
        for j in range(10):
            run.log_parameter(f"param_{j}", i * j)
        for j in range(10):
            run.log_metric(f"score_{j}", (i + j) / 100)
    timings["create"] = time.perf_counter() - started
    started = time.perf_counter()
    count = 0
    for run in rb.get_project("grid").experiments():
        count += len(run.parameters()) + len(run.metrics())
    timings["read_back"] = time.perf_counter() - started
    assert count == args.experiments * 20, count
    started = time.perf_counter()
    frame = rb.get_project("grid").to_df()
    timings["to_df"] = time.perf_counter() - started
    assert len(frame) == args.experiments
    return timings


def run_ferry_async(args: argparse.Namespace) -> dict[str, float]:
    import asyncio

    from ferry.tracking import AsyncRubicon

    options = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]} if args.backend == "s3" else {}
    persistence = "memory" if args.backend == "memory" else "filesystem"
    root = None if args.backend == "memory" else args.root
    rb = AsyncRubicon(persistence=persistence, root_dir=root, **options)
    timings: dict[str, float] = {}

    async def work() -> None:
        experiment = await (await rb.create_project("metrics")).log_experiment("one")
        started = time.perf_counter()
        await asyncio.gather(
            *(experiment.log_metric(f"metric_{i}", i / 7) for i in range(args.metrics))
        )
        timings["log_metrics"] = time.perf_counter() - started
        project = await rb.create_project("grid")
        started = time.perf_counter()

        async def one(i: int) -> None:
            run = await project.log_experiment(f"run-{i}", tags=["grid"])
            await asyncio.gather(
                *(run.log_parameter(f"param_{j}", i * j) for j in range(10)),
                *(run.log_metric(f"score_{j}", (i + j) / 100) for j in range(10)),
            )

        await asyncio.gather(*(one(i) for i in range(args.experiments)))
        timings["create"] = time.perf_counter() - started
        started = time.perf_counter()
        runs = await (await rb.get_project("grid")).experiments()
        counts = await asyncio.gather(
            *(run.parameters() for run in runs), *(run.metrics() for run in runs)
        )
        timings["read_back"] = time.perf_counter() - started
        assert sum(len(c) for c in counts) == args.experiments * 20
        started = time.perf_counter()
        frame = await (await rb.get_project("grid")).to_df()
        timings["to_df"] = time.perf_counter() - started
        assert len(frame) == args.experiments

    asyncio.run(work())
    return timings


def run_mlflow(args: argparse.Namespace) -> dict[str, float]:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"file:{args.root}")
    client = MlflowClient()
    timings: dict[str, float] = {}
    metrics_experiment = client.create_experiment("metrics")
    run_id = client.create_run(metrics_experiment).info.run_id
    started = time.perf_counter()
    for i in range(args.metrics):
        client.log_metric(run_id, f"metric_{i}", i / 7)
    timings["log_metrics"] = time.perf_counter() - started
    grid = client.create_experiment("grid")
    started = time.perf_counter()
    for i in range(args.experiments):
        run = client.create_run(grid, run_name=f"run-{i}", tags={"grid": "1"}).info.run_id
        for j in range(10):
            client.log_param(run, f"param_{j}", i * j)
        for j in range(10):
            client.log_metric(run, f"score_{j}", (i + j) / 100)
    timings["create"] = time.perf_counter() - started
    started = time.perf_counter()
    count = 0
    for info in client.search_runs([grid], max_results=50_000):
        run = client.get_run(info.info.run_id)
        count += len(run.data.params) + len(run.data.metrics)
    timings["read_back"] = time.perf_counter() - started
    assert count == args.experiments * 20, count
    started = time.perf_counter()
    frame = mlflow.search_runs([grid], max_results=50_000)
    timings["to_df"] = time.perf_counter() - started
    assert len(frame) == args.experiments
    return timings


def main() -> None:
    # Every tool gets pandas loaded before timing starts (rubicon-ml and mlflow import it at
    # start-up; ferry imports it when first needed), so no phase pays for the import.
    import pandas  # noqa: F401

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["ferry", "ferry-async", "rubicon", "mlflow"])
    parser.add_argument("backend", choices=["s3", "local", "memory"])
    parser.add_argument("root")
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=1000)
    args = parser.parse_args()
    runners = {"mlflow": run_mlflow, "ferry-async": run_ferry_async}
    timings = runners.get(args.tool, run_rubicon_like)(args)
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
