"""One tool's tracking workload, run in that tool's own venv by bench/tracking.py.

    python _tracking_workload.py TOOL BACKEND ROOT [--experiments 200] [--metrics 1000]
                                 [--cache-dir DIR]

TOOL: ferry | ferry-bg | ferry-async | rubicon | mlflow. ferry-bg is ferry's asynchronous
logging mode (``Rubicon(synchronous=False)``, then ``flush()``, inside the timed phase);
ferry-async is ferry's asyncio client with each step's calls gathered (seed 000 recommends
an asynchronous client for S3). BACKEND: s3 | local | memory (ROOT: s3://... or a folder).
Prints one JSON line: the wall time of each phase, measured inside the process so that
interpreter start-up and imports are not counted, and for ferry the requests each phase
sent, by kind (counted by a store wrapper: GET, PUT, LIST pages, ...).
  log_metrics       log --metrics metrics, one by one, in one experiment
  create            --experiments experiments x (10 parameters + 10 metrics)
  read_back_cold    every experiment of the project, then its parameters and metrics,
                    from a new client (ferry: with its record cache emptied first)
  read_back_warm    the same again from another new client (ferry: the cache kept; on a
                    local disk ferry keeps a record once it is 2 s old, so reads start
                    2.5 s after the writes)
  to_df_cold/warm   the project as a table (rubicon/ferry: project.to_df(); mlflow:
                    search_runs), cold then warm as above
  growth            memory only: time of the last 10% of --metrics writes / the first 10%
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

PAGE = 1000  # keys per listing page (S3's maximum, and what ferry asks for)
FLOOR_BUCKET = "bench-floor"


def server_times(n: int = 1000) -> dict[str, float]:
    """The server's seconds per request of each kind right now: at full concurrency (32
    in flight) and one by one, sent by obstore (the leanest client) to FLOOR_BUCKET."""
    from concurrent.futures import ThreadPoolExecutor

    import obstore
    from obstore.store import S3Store

    store = S3Store(
        FLOOR_BUCKET, endpoint=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
        access_key_id="test", secret_access_key="test", virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )  # fmt: skip
    body = b'{"name": "metric", "value": 0.142857, "created_at": "2026-01-01T00:00:00"}' * 3
    run = f"{time.time_ns()}"

    def each(call: Callable[[int], Any], items: range, workers: int) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(call, items))
        return (time.perf_counter() - started) / len(items)

    def put(i: int) -> Any:
        return obstore.put(store, f"{run}/{i}/metadata.json", body, mode="create")

    def get(i: int) -> Any:
        return obstore.get(store, f"{run}/{i}/metadata.json").bytes()

    def page(_: int) -> Any:
        return next(iter(obstore.list(store, run, chunk_size=PAGE)))

    return {
        "PUT": each(put, range(n), 32),
        "GET": each(get, range(n), 32),
        "LIST": each(page, range(32), 32),  # pages of 1,000 keys
        "sequential PUT": each(put, range(n, n + n // 4), 1),
        "sequential GET": each(get, range(n // 4), 1),
        "sequential LIST": each(page, range(8), 1),  # a listing's pages come one by one
    }


def counting_store(root: str) -> Any:
    """ferry's store for ``root``, wrapped to count the requests each call sends."""
    from ferry.storage import open_store
    from ferry.storage.base import BaseStore

    class Counting(BaseStore):
        def __init__(self, inner: Any) -> None:
            self.inner, self.counts, self._lock = inner, Counter(), threading.Lock()

        def count(self, kind: str, n: int = 1) -> None:
            with self._lock:
                self.counts[kind] += n

        @property
        def url(self) -> str:
            return str(self.inner.url)

        def get(self, key: str) -> bytes:
            self.count("GET")
            return bytes(self.inner.get(key))

        def get_object(self, key: str) -> Any:
            self.count("GET")
            return self.inner.get_object(key)

        def get_file(self, key: str, path: Any, *, size: int | None = None) -> Any:
            self.count("GET")
            return self.inner.get_file(key, path, size=size)

        def head(self, key: str) -> Any:
            self.count("HEAD")
            return self.inner.head(key)

        def put(self, key: str, data: bytes, **kwargs: Any) -> Any:
            self.count("PUT")
            return self.inner.put(key, data, **kwargs)

        def put_file(self, key: str, path: Any, **kwargs: Any) -> Any:
            self.count("PUT")
            return self.inner.put_file(key, path, **kwargs)

        def list(self, prefix: str = "") -> Any:
            found = list(self.inner.list(prefix))
            self.count("LIST", max(1, -(-len(found) // PAGE)))
            return iter(found)

        def ls(self, prefix: str = "") -> Any:
            listing = self.inner.ls(prefix)
            self.count("LIST", max(1, -(-(len(listing.prefixes) + len(listing.objects)) // PAGE)))
            return listing

        def delete(self, keys: Any) -> None:
            keys = list(keys)
            self.count("DELETE", max(1, -(-len(keys) // PAGE)))
            self.inner.delete(keys)

    return Counting(open_store(root))


class Client:
    """How one tool is opened, and how its requests are counted (ferry only)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.store: Any = None

    def open(self, **kwargs: Any) -> Any:
        args = self.args
        if args.tool.startswith("ferry"):
            from ferry import Rubicon

            if args.backend == "memory":
                return Rubicon(persistence="memory", root_dir=f"/bench-{os.getpid()}", **kwargs)
            if self.store is None:
                self.store = counting_store(args.root)
            return Rubicon(stores=[self.store], cache_dir=args.cache_dir, **kwargs)
        from rubicon_ml import Rubicon

        if args.backend == "memory":
            return Rubicon(persistence="memory")
        options = {}
        if args.backend == "s3":
            endpoint = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]}
            options = {"key": "test", "secret": "test", "client_kwargs": endpoint}
        return Rubicon(persistence="filesystem", root_dir=args.root, **options)

    def empty_cache(self) -> None:
        if self.args.cache_dir:
            shutil.rmtree(self.args.cache_dir, ignore_errors=True)


def calibrated(name: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    """With --calibrate, the server's time per request just before phase ``name`` (and the
    CPU that took, which is not the tool's)."""
    if args.calibrate:
        cpu = time.process_time()
        out.setdefault("per_request", {})[name] = server_times()
        out["calibration_cpu"] = out.get("calibration_cpu", 0.0) + time.process_time() - cpu


def clocked(name: str, work: Callable[[], Any], out: dict[str, Any]) -> Any:
    """Run ``work``: its wall time, and its CPU time (less swayed by other processes)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    out["times"][name] = time.perf_counter() - started
    out.setdefault("cpu", {})[name] = time.process_time() - cpu
    return result


def timed(name: str, work: Callable[[], Any], client: Client, out: dict[str, Any]) -> Any:
    calibrated(name, client.args, out)
    store = client.store
    before = Counter(store.counts) if store is not None else None
    result = clocked(name, work, out)
    if before is not None:
        out["requests"][name] = dict(store.counts - before)
    return result


def run_rubicon_like(args: argparse.Namespace) -> dict[str, Any]:
    client = Client(args)
    background = args.tool == "ferry-bg"
    rb = client.open(synchronous=False) if background else client.open()
    out: dict[str, Any] = {"times": {}, "requests": {}}
    experiment = rb.create_project("metrics").log_experiment("one")
    if background:
        rb.flush()
    marks: list[float] = []

    def log_metrics() -> None:
        for i in range(args.metrics):
            experiment.log_metric(f"metric_{i}", i / 7)
            if i in (args.metrics // 10 - 1, args.metrics - args.metrics // 10 - 1):
                marks.append(time.perf_counter())
        marks.append(time.perf_counter())
        if background:
            rb.flush()

    started = time.perf_counter()
    timed("log_metrics", log_metrics, client, out)
    if args.backend == "memory":
        out["times"]["growth"] = (marks[2] - marks[1]) / (marks[0] - started)
    project = rb.create_project("grid")

    def create() -> None:
        for i in range(args.experiments):
            run = project.log_experiment(f"run-{i}", tags=["grid"])
            for j in range(10):
                run.log_parameter(f"param_{j}", i * j)
            for j in range(10):
                run.log_metric(f"score_{j}", (i + j) / 100)
        if background:
            rb.flush()

    timed("create", create, client, out)
    if not background:
        read_phases(client, out)
    return out


def read_phases(client: Client, out: dict[str, Any]) -> None:
    args = client.args
    if args.backend == "local":
        time.sleep(2.5)  # ferry caches a local record once it is 2 s old (any tool may wait)

    def read_back() -> None:
        count = 0
        for run in client.open().get_project("grid").experiments():
            count += len(run.parameters()) + len(run.metrics())
        assert count == args.experiments * 20, count

    def to_df() -> None:
        assert len(client.open().get_project("grid").to_df()) == args.experiments

    for name, work in (("read_back", read_back), ("to_df", to_df)):
        client.empty_cache()
        timed(f"{name}_cold", work, client, out)
        timed(f"{name}_warm", work, client, out)


def run_ferry_async(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    from ferry.tracking import AsyncRubicon

    client = Client(args)
    client.store = counting_store(args.root) if args.backend == "s3" else None
    rb = AsyncRubicon(stores=[client.store], cache=False)
    out: dict[str, Any] = {"times": {}, "requests": {}}

    async def work() -> None:
        experiment = await (await rb.create_project("metrics")).log_experiment("one")
        calibrated("log_metrics", args, out)
        before = dict(client.store.counts)
        started = time.perf_counter()
        await asyncio.gather(
            *(experiment.log_metric(f"metric_{i}", i / 7) for i in range(args.metrics))
        )
        out["times"]["log_metrics"] = time.perf_counter() - started
        out["requests"]["log_metrics"] = dict(client.store.counts - Counter(before))
        project = await rb.create_project("grid")

        async def one(i: int) -> None:
            run = await project.log_experiment(f"run-{i}", tags=["grid"])
            await asyncio.gather(
                *(run.log_parameter(f"param_{j}", i * j) for j in range(10)),
                *(run.log_metric(f"score_{j}", (i + j) / 100) for j in range(10)),
            )

        calibrated("create", args, out)
        before = dict(client.store.counts)
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.experiments)))
        out["times"]["create"] = time.perf_counter() - started
        out["requests"]["create"] = dict(client.store.counts - Counter(before))

    asyncio.run(work())
    rb.close()
    return out


def run_mlflow(args: argparse.Namespace) -> dict[str, Any]:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"file:{args.root}")
    client = MlflowClient()
    out: dict[str, Any] = {"times": {}, "requests": {}}
    run_id = client.create_run(client.create_experiment("metrics")).info.run_id

    def log_metrics() -> None:
        for i in range(args.metrics):
            client.log_metric(run_id, f"metric_{i}", i / 7)

    grid = client.create_experiment("grid")

    def create() -> None:
        for i in range(args.experiments):
            run = client.create_run(grid, run_name=f"run-{i}", tags={"grid": "1"}).info.run_id
            for j in range(10):
                client.log_param(run, f"param_{j}", i * j)
            for j in range(10):
                client.log_metric(run, f"score_{j}", (i + j) / 100)

    def read_back() -> None:
        count = 0
        for info in MlflowClient().search_runs([grid], max_results=50_000):
            run = client.get_run(info.info.run_id)
            count += len(run.data.params) + len(run.data.metrics)
        assert count == args.experiments * 20, count

    def to_df() -> None:
        assert len(mlflow.search_runs([grid], max_results=50_000)) == args.experiments

    clocked("log_metrics", log_metrics, out)
    clocked("create", create, out)
    for name, work in (("read_back", read_back), ("to_df", to_df)):
        for label in ("cold", "warm"):  # no cache: both are the same work
            clocked(f"{name}_{label}", work, out)
    return out


def main() -> None:
    # Every tool gets pandas loaded before timing starts (rubicon-ml and mlflow import it at
    # start-up; ferry imports it when first needed), so no phase pays for the import.
    import pandas  # noqa: F401

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["ferry", "ferry-bg", "ferry-async", "rubicon", "mlflow"])
    parser.add_argument("backend", choices=["s3", "local", "memory"])
    parser.add_argument("root")
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--calibrate", action="store_true", help="measure the server first")
    args = parser.parse_args()
    runners = {"mlflow": run_mlflow, "ferry-async": run_ferry_async}
    result = runners.get(args.tool, run_rubicon_like)(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
