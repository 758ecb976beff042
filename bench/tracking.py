"""Tracking benchmark: ferry beside rubicon-ml and MLflow's file store, one invocation.

    .venv/bin/python bench/tracking.py [--experiments 200] [--metrics 1000]
                                       [--backends s3,local,memory] [--skip-rubicon-s3]

Each tool runs bench/_tracking_workload.py in its own virtual environment (rubicon-ml
0.15.3 with its s3 extra, and mlflow-skinny, installed by this script under the tools
folder), one process per tool and backend, so CPU time and peak RSS are that tool's own.
S3 runs use one local S3 server (ministack on 127.0.0.1). Phase times are measured inside
each process (no start-up); ratios are peer time / ferry time (above 1: ferry is faster).

The request floor: ferry counts the requests each phase sends (GET, PUT, LIST pages), and
this script measures the server's time per request of each kind at full concurrency (32
requests in flight, through obstore, the leanest client); the floor is their product, the
time no client can beat with that many requests. The sequential floor is what a client
that waits for each answer before the next call cannot beat (one round trip per request).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server, ensure_tool

WORKLOAD = Path(__file__).resolve().parent / "_tracking_workload.py"
RUBICON_ML = ("rubicon-ml[s3,jsonpath]==0.15.3",)  # the same venv as the tests'
WRITES = ("log_metrics", "create")
READS = ("read_back_cold", "read_back_warm", "to_df_cold", "to_df_warm")
TOOLS_RUN = (
    ("ferry", ("s3", "local", "memory")),
    ("ferry-bg", ("s3",)),
    ("ferry-async", ("s3",)),
    ("rubicon", ("s3", "local", "memory")),
    ("mlflow", ("local",)),
)
Result = dict[str, Any]


def run(python: Path, tool: str, backend: str, root: str, env: dict[str, str], args: Any) -> Result:
    cache = WORK / "tracking" / f"{tool}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    command = [
        str(python), str(WORKLOAD), tool, backend, root,
        "--experiments", str(args.experiments), "--metrics", str(args.metrics),
        "--cache-dir", str(cache),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} on {backend} failed:\n{err[-3000:]}")
    result: Result = json.loads(out.strip().splitlines()[-1])
    result["times"]["cpu"] = usage.ru_utime + usage.ru_stime
    result["times"]["rss_mib"] = usage.ru_maxrss / 1024
    shown = " ".join(f"{k}={v:.2f}" for k, v in result["times"].items())
    print(f"  {tool:11} {backend:6} {shown}", flush=True)
    return result


def calibrate(server: LocalS3Server, n: int = 2000) -> dict[str, float]:
    """The server's seconds per request of each kind, at full concurrency and one by one."""
    import obstore
    from obstore.store import S3Store

    server.create_bucket("bench-floor")
    store = S3Store(
        "bench-floor", endpoint=server.url, region="us-east-1", access_key_id="test",
        secret_access_key="test", virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )  # fmt: skip
    body = b'{"name": "metric", "value": 0.142857, "created_at": "2026-01-01T00:00:00"}' * 3
    run = f"{time.time_ns()}"

    def timed(call: Any, items: range, workers: int) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(call, items))
        return (time.perf_counter() - started) / len(items)

    def put(i: int) -> Any:
        return obstore.put(store, f"{run}/{i}/metadata.json", body, mode="create")

    def get(i: int) -> Any:
        return obstore.get(store, f"{run}/{i}/metadata.json").bytes()

    def page(_: int) -> Any:
        return next(iter(obstore.list(store, run, chunk_size=1000)))

    return {
        "PUT": timed(put, range(n), 32),
        "GET": timed(get, range(n), 32),
        "LIST": timed(page, range(64), 32),  # pages of 1,000 keys
        "sequential PUT": timed(put, range(n, n + n // 4), 1),
        "sequential GET": timed(get, range(n // 4), 1),
    }


def floors(result: Result, per: dict[str, float]) -> dict[str, tuple[float, float, int]]:
    """For each phase: (floor at full concurrency, sequential floor, requests sent)."""
    found = {}
    for phase, counts in result.get("requests", {}).items():
        kinds = {k: k if k in per else "GET" for k in counts}  # a HEAD costs about a GET
        full = sum(n * per[kinds[k]] for k, n in counts.items())
        one_by_one = sum(
            n * per.get(f"sequential {kinds[k]}", per[kinds[k]]) for k, n in counts.items()
        )
        found[phase] = (full, one_by_one, sum(counts.values()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument(
        "--skip-rubicon-s3", action="store_true", help="rubicon-ml on S3 takes minutes"
    )
    parser.add_argument("--backends", default="s3,local,memory", help="subset of s3,local,memory")
    args = parser.parse_args()
    pythons = {
        "ferry": Path(sys.executable),
        "ferry-bg": Path(sys.executable),
        "ferry-async": Path(sys.executable),
        "rubicon": ensure_tool("rubicon-ml-s3", RUBICON_ML, TOOLS) / "python",
        "mlflow": ensure_tool("mlflow", ("mlflow-skinny", "pandas"), TOOLS) / "python",
    }
    results: dict[tuple[str, str], Result] = {}
    with LocalS3Server(tools_dir=TOOLS) as server:
        env = {**os.environ, **server.env()}
        per = calibrate(server)
        for tool, backends in TOOLS_RUN:
            for backend in backends:
                if backend not in args.backends.split(","):
                    continue
                if tool == "rubicon" and backend == "s3" and args.skip_rubicon_s3:
                    continue
                bucket = f"bench-{tool}"
                server.create_bucket(bucket)
                folder = WORK / "tracking" / tool
                shutil.rmtree(folder, ignore_errors=True)
                root = f"s3://{bucket}/root" if backend == "s3" else str(folder)
                results[(tool, backend)] = run(pythons[tool], tool, backend, root, env, args)
        after = calibrate(server)
    per = {kind: (per[kind] + after[kind]) / 2 for kind in per}
    report(results, per, args)


def report(results: dict[tuple[str, str], Result], per: dict[str, float], args: Any) -> None:
    tools = ("ferry", "ferry-bg", "ferry-async", "rubicon", "mlflow")
    pairs = (("rubicon", "ferry"), ("rubicon", "ferry-bg"), ("rubicon", "ferry-async"),
             ("mlflow", "ferry"))  # fmt: skip
    print(
        f"\nTracking: {args.metrics} metrics; {args.experiments} experiments x (10 params + "
        "10 metrics); seconds inside each process; ratio = peer / ferry.\nServer time per "
        "request at full concurrency: "
        + ", ".join(f"{k} {v * 1000:.3f} ms" for k, v in per.items() if "sequential" not in k)
        + f"; one by one: PUT {per['sequential PUT'] * 1000:.3f} ms, GET "
        f"{per['sequential GET'] * 1000:.3f} ms."
    )
    print(
        f"{'backend':8}{'phase':16}"
        + "".join(f"{t:>12}" for t in tools)
        + "".join(f"{p + '/' + b:>20}" for p, b in pairs)
    )
    for backend in ("s3", "local", "memory"):
        for phase in (*WRITES, *READS, "growth", "cpu", "rss_mib"):
            row = {t: results.get((t, backend), {}).get("times", {}).get(phase) for t in tools}
            if row["ferry"] is None:
                continue
            cells = "".join(f"{v:>12.3f}" if v is not None else f"{'-':>12}" for v in row.values())
            ratios = ""
            for peer, base in pairs:
                peer_time, base_time = row[peer], row[base]
                usable = peer_time is not None and base_time and phase in (*WRITES, *READS)
                ratios += f"{peer_time / base_time:>19.1f}x" if usable else f"{'':>20}"
            print(f"{backend:8}{phase:16}{cells}{ratios}")
    print_floors(results, per)


def print_floors(results: dict[tuple[str, str], Result], per: dict[str, float]) -> None:
    print(
        "\nRequest floor on S3 (requests sent x server time per request): "
        "floor at full concurrency, sequential floor (one round trip at a time), tool / floor"
    )
    print(f"{'tool':12}{'phase':16}{'requests':>10}{'time':>10}{'floor':>10}{'seq.floor':>11}"
          f"{'time/floor':>12}")  # fmt: skip
    for tool in ("ferry", "ferry-bg", "ferry-async"):
        result = results.get((tool, "s3"))
        if result is None:
            continue
        for phase, (full, sequential, count) in floors(result, per).items():
            took = result["times"][phase]
            print(
                f"{tool:12}{phase:16}{count:>10}{took:>10.3f}{full:>10.3f}{sequential:>11.3f}"
                f"{took / full:>11.2f}x"
            )


if __name__ == "__main__":
    main()
