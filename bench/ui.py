"""Dashboard benchmark: `ferry ui` beside MLflow's UI over the same data, in one invocation.

    .venv/bin/python bench/ui.py [--experiments 1000] [--series-runs 50] [--steps 1000]
                                 [--skip-mlflow]

Data (made here, the same for both): --experiments experiments x (10 parameters + 10
metrics); --series-runs of them log their 'loss' as a --steps-step series. ferry's copy is
logged with ferry to a local root, then uploaded to the local S3 server (ministack on
127.0.0.1); MLflow's is an MLflow file store filled by MLflow 3.17 in its own venv under
.tools/. Each server runs as its own process; Debian's chromium (Playwright, fresh
profile) loads the pages, timed from navigation to the page's content on screen:
  table cold   a server just started, a new browser profile: the experiments table painted
  table warm   the same page opened again (median of 3)
  chart cold   the series runs compared: a chart of --series-runs runs x --steps steps
               drawn (ferry: its compare page; MLflow: its metric page), series not read yet
  chart warm   the same again (median of 3)
  server MiB   peak resident memory of the server's processes
  listing alone  ferry only: tracking's project.experiments() on its own, cold (part of
               'table cold' on S3)
ferry is measured twice: over the S3 copy, and over the local root the data was logged to
(local files, as MLflow's file store). Ratios are MLflow / ferry (above 1: ferry is faster
or smaller).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server, ensure_tool, free_port

FERRY = Path(sys.executable).parent / "ferry"
MLFLOW = ("mlflow==3.17.2",)
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PROJECT, SERIES = "bench", "loss"
TIMEOUT_MS = 300_000


def make_data(args: argparse.Namespace) -> dict[str, Any]:
    """The experiments both tools get: names, 10 params, 10 metrics, some with a series."""
    rng = random.Random(11)
    experiments = []
    for index in range(args.experiments):
        params = {f"param_{p}": round(rng.uniform(0, 100), 3) for p in range(9)}
        params["optimizer"] = rng.choice(["adam", "sgd", "adamw"])
        metrics = {f"metric_{m}": rng.random() for m in range(9)}
        metrics[SERIES] = rng.uniform(0.1, 1.0)
        series = None
        if index < args.series_runs:
            floor = rng.uniform(0.05, 0.3)
            series = [floor + 2 * 0.995**s + rng.uniform(0, 0.02) for s in range(args.steps)]
            metrics.pop(SERIES)  # the series' last point is the metric's value
        tags = ["bench", rng.choice(["baseline", "sweep"])]
        entry = {"name": f"exp-{index:04d}", "params": params, "metrics": metrics}
        experiments.append({**entry, "tags": tags, "series": series})
    return {"project": PROJECT, "series_metric": SERIES, "experiments": experiments}


def fill_ferry(data: dict[str, Any], server: LocalS3Server, bucket: str) -> dict[str, str]:
    """Log the data with ferry to a local root, upload it to S3; ids of the series runs."""
    from ferry.storage import open_store
    from ferry.storage.batch import upload_tree
    from ferry.tracking import Rubicon

    local = WORK / "ui" / "ferry-root"
    shutil.rmtree(local, ignore_errors=True)
    rubicon = Rubicon(root_dir=str(local))
    project = rubicon.create_project(PROJECT)

    def log(entry: dict[str, Any]) -> tuple[str, str | None]:
        run = project.log_experiment(entry["name"], tags=entry["tags"])
        for name, value in entry["params"].items():
            run.log_parameter(name, value)
        for name, value in entry["metrics"].items():
            run.log_metric(name, value)
        for step, value in enumerate(entry["series"] or []):
            run.log_metric(SERIES, value, directionality="loss", step=step)
        return entry["name"], run.id if entry["series"] else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        logged = list(pool.map(log, data["experiments"]))
    rubicon.close()  # as a training script's end: each series' last steps in one chunk
    server.create_bucket(bucket)
    store = open_store(f"s3://{bucket}/rubicon")
    files = upload_tree(store, local, workers=32)
    print(f"  ferry: {len(files)} objects on s3://{bucket}/rubicon", flush=True)
    return {name: run_id for name, run_id in logged if run_id}


def fill_mlflow(data: dict[str, Any], python: Path, backend: str) -> tuple[str, dict[str, Any]]:
    """MLflow's copy: a file store (as asked) or, with --mlflow-backend sqlite, the
    database MLflow 3 recommends instead."""
    store = WORK / "ui" / ("mlruns" if backend == "file" else "mlflow.db")
    shutil.rmtree(store, ignore_errors=True)
    store.unlink(missing_ok=True)
    uri = store.as_uri() if backend == "file" else f"sqlite:///{store}"
    data_file = WORK / "ui" / "data.json"
    data_file.write_text(json.dumps(data))
    script = Path(__file__).resolve().parent / "_ui_mlflow.py"
    out = subprocess.run(
        [str(python), str(script), uri, str(data_file)],
        capture_output=True, text=True, env=_quiet_env(), check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"filling MLflow's store failed:\n{out.stderr[-3000:]}")
    return uri, json.loads(out.stdout.strip().splitlines()[-1])


def _quiet_env() -> dict[str, str]:
    # MLflow 3.17 keeps its file store only behind this switch ("maintenance mode").
    quiet = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    return {**os.environ, **quiet, "MLFLOW_ALLOW_FILE_STORE": "true"}


# -- servers ----------------------------------------------------------------------------


@contextmanager
def running(command: list[str], env: dict[str, str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready once ``url`` answers; stopped by its PID afterwards."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            _wait_ready(process, url, log)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Any) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server exited:\n{log.read().decode()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer {url} in 300 s")


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process and its descendants (sum of their peaks)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        total += int(re.search(r"VmHWM:\s+(\d+)", status)[1])  # type: ignore[index]
        for task in Path(f"/proc/{current}/task").iterdir():
            pending += [int(c) for c in (task / "children").read_text().split()]
    return total / 1024


# -- the browser --------------------------------------------------------------------------


class Browser:
    """Debian's chromium with a fresh profile; counts requests that left 127.0.0.1."""

    def __init__(self, playwright: Any) -> None:
        self.profile = tempfile.mkdtemp(prefix="ferry-bench-profile-")
        self.context = playwright.chromium.launch_persistent_context(
            self.profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )  # fmt: skip
        self.foreign: list[str] = []
        self.context.on("request", self._check)

    def _check(self, request: Any) -> None:
        if not re.match(r"(https?://(127\.0\.0\.1|localhost)[:/]|data:|blob:)", request.url):
            self.foreign.append(request.url)

    def time(self, url: str, ready: Callable[[Any], None]) -> float:
        """Seconds from navigation to ``ready(page)`` returning."""
        page = self.context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        ready(page)
        elapsed = time.perf_counter() - started
        page.close()
        return elapsed

    def close(self) -> None:
        self.context.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def cold_and_warm(browser: Browser, url: str, ready: Callable[[Any], None]) -> tuple[float, float]:
    cold = browser.time(url, ready)
    warm = statistics.median(browser.time(url, ready) for _ in range(3))
    return cold, warm


# -- the two dashboards ---------------------------------------------------------------------


def ferry_table(page: Any) -> None:
    page.wait_for_selector("table.experiments tbody tr", timeout=TIMEOUT_MS)


def ferry_chart(page: Any) -> None:
    page.wait_for_selector(f".chart[data-metric={SERIES}][data-drawn='1']", timeout=TIMEOUT_MS)


def mlflow_table(page: Any) -> None:
    page.get_by_text(re.compile(r"^exp-\d{4}$")).first.wait_for(timeout=TIMEOUT_MS)


def mlflow_chart(runs: int) -> Callable[[Any], None]:
    traces = "document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length"
    return lambda page: page.wait_for_function(f"{traces} >= {runs}", timeout=TIMEOUT_MS)


def measure(
    playwright: Any, process: subprocess.Popen[bytes], pages: dict[str, tuple[str, Any]]
) -> dict[str, float]:
    """Cold and warm times of each page, foreign requests, the server's peak memory."""
    browser = Browser(playwright)
    result: dict[str, float] = {}
    try:
        for label, (url, ready) in pages.items():
            result[f"{label} cold"], result[f"{label} warm"] = cold_and_warm(browser, url, ready)
        result["foreign requests"] = len(browser.foreign)
    finally:
        browser.close()
    result["server MiB"] = peak_rss_mib(process.pid)
    return result


def measure_ferry(
    playwright: Any, server: LocalS3Server, root: str, ids: list[str]
) -> dict[str, float]:
    port = free_port()
    command = [str(FERRY), "ui", root, "--no-browser", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    query = f"root=0&project={PROJECT}"
    pages = {
        "table": (f"{base}/experiments?{query}", ferry_table),
        "chart": (f"{base}/compare?{query}&metrics={SERIES}&ids={','.join(ids)}", ferry_chart),
    }
    started = time.perf_counter()
    with running(command, {**os.environ, **server.env()}, f"{base}/static/ferry.css") as process:
        start_up = time.perf_counter() - started
        return {"start-up": start_up, **measure(playwright, process, pages)}


def _metric_page_query(runs: list[str], experiment: str) -> str:
    """The query of MLflow's metric page (as its Routes.getMetricPageRoute writes it)."""
    key = quote(json.dumps(SERIES))
    return (
        f"runs={json.dumps(runs, separators=(',', ':'))}&metric={key}"
        f"&experiments={json.dumps([experiment])}&plot_metric_keys={quote(json.dumps([SERIES]))}"
        "&plot_layout={}&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=false"
        "&deselected_curves=[]&last_linear_y_axis_range=[]"
    )


def measure_mlflow(
    playwright: Any, python: Path, store: str, info: dict[str, Any]
) -> dict[str, float]:
    port = free_port()
    artifacts = (WORK / "ui" / "mlartifacts").as_uri()
    command = [str(python.parent / "mlflow"), "server", "--backend-store-uri", store,
               "--default-artifact-root", artifacts, "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    experiment, runs = info["experiment_id"], list(info["series_runs"].values())
    chart = f"{base}/#/metric/?" + _metric_page_query(runs, experiment)
    pages = {
        "table": (f"{base}/#/experiments/{experiment}/runs", mlflow_table),
        "chart": (chart, mlflow_chart(len(runs))),
    }
    started = time.perf_counter()
    with running(command, _quiet_env(), f"{base}/health") as process:
        start_up = time.perf_counter() - started
        return {"start-up": start_up, **measure(playwright, process, pages)}


def time_listing(bucket: str) -> float:
    """Seconds of tracking's project.experiments() alone, cold: the bulk of 'table cold'."""
    from ferry.tracking import Rubicon

    started = time.perf_counter()
    Rubicon(root_dir=f"s3://{bucket}/rubicon").get_project(PROJECT).experiments()
    return time.perf_counter() - started


def report(
    args: argparse.Namespace,
    ferry: dict[str, float],
    mlflow: dict[str, float] | None,
    local: dict[str, float],
) -> None:
    print(
        f"\nDashboard: {args.experiments} experiments x (10 params + 10 metrics), "
        f"{args.series_runs} with a {args.steps}-step series; seconds (server MiB); "
        f"ratio = MLflow ({args.mlflow_backend} store) / ferry; 'local' = ferry ui over the "
        "local root the data was logged to"
    )
    targets = {"table cold": 2.0, "table warm": 0.5, "chart warm": 1.0, "server MiB": 300}
    heads = ("ferry S3", "MLflow", "ratio", "local", "ratio")
    print(f"{'':18}" + "".join(f"{h:>10}" for h in heads) + "   target for ferry (S3)")
    for key, value in ferry.items():
        peer = (mlflow or {}).get(key)
        here = local.get(key)
        cells = [f"{value:.2f}", "-" if peer is None else f"{peer:.2f}", ""]
        cells += ["-" if here is None else f"{here:.2f}", ""]
        if key != "foreign requests":  # requests that left 127.0.0.1: a count, not a time
            if peer is not None and value:
                cells[2] = f"{peer / value:.1f}x"
            if peer is not None and here:
                cells[4] = f"{peer / here:.1f}x"
        target = f"   < {targets[key]}" if key in targets else ""
        print(f"{key:18}" + "".join(f"{c:>10}" for c in cells) + target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--series-runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--mlflow-backend", choices=["file", "sqlite"], default="file")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data = make_data(args)
    python = None if args.skip_mlflow else ensure_tool("mlflow-ui", MLFLOW, TOOLS) / "python"
    (WORK / "ui").mkdir(parents=True, exist_ok=True)
    with LocalS3Server(tools_dir=TOOLS) as server, sync_playwright() as playwright:
        os.environ.update(server.env())
        started = time.perf_counter()
        series = fill_ferry(data, server, "bench-ui")
        print(f"  filled ferry's copy in {time.perf_counter() - started:.0f} s", flush=True)
        mlflow = None
        if python is not None:
            started = time.perf_counter()
            store, info = fill_mlflow(data, python, args.mlflow_backend)
            print(f"  filled MLflow's store in {time.perf_counter() - started:.0f} s", flush=True)
            mlflow = measure_mlflow(playwright, python, store, info)
            print(f"  MLflow: {mlflow}", flush=True)
        ids = list(series.values())
        ferry = measure_ferry(playwright, server, "s3://bench-ui/rubicon", ids)
        ferry["listing alone"] = time_listing("bench-ui")
        print(f"  ferry: {ferry}", flush=True)
        # the same data from the local root it was logged to: beside MLflow's file store,
        # local files on both sides (the S3 rows also pay the server's cost per request)
        local = measure_ferry(playwright, server, str(WORK / "ui" / "ferry-root"), ids)
        print(f"  ferry (local root): {local}", flush=True)
    report(args, ferry, mlflow, local)


if __name__ == "__main__":
    main()
