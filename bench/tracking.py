"""Tracking benchmark: ferry beside rubicon-ml and MLflow's file store, one invocation.

    .venv/bin/python bench/tracking.py [--experiments 200] [--metrics 1000] [--runs 1]
                                       [--backends s3,local,memory] [--skip-rubicon-s3]

Each tool runs bench/_tracking_workload.py in its own virtual environment (rubicon-ml
0.15.3 with its s3 extra, and mlflow-skinny, installed by this script under the tools
folder), one process per tool and backend, so CPU time and peak RSS are that tool's own.
S3 runs use one local S3 server (ministack on 127.0.0.1). Phase times are measured inside
each process (no start-up); ratios are peer time / ferry time (above 1: ferry is faster).
With ``--runs N`` every tool runs N times and each phase keeps its fastest run (on a machine
other work shares, the least disturbed one).

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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server, ensure_tool

WORKLOAD = Path(__file__).resolve().parent / "_tracking_workload.py"
RUBICON_ML = ("rubicon-ml[s3,jsonpath]==0.15.3",)  # the same venv as the tests'
FLOOR_BUCKET = "bench-floor"  # the calibration's objects, away from the measured listings
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
        *(["--calibrate"] if tool.startswith("ferry") and backend == "s3" else []),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} on {backend} failed:\n{err[-3000:]}")
    result: Result = json.loads(out.strip().splitlines()[-1])
    own = usage.ru_utime + usage.ru_stime - result.get("calibration_cpu", 0.0)
    result["times"]["cpu"] = own  # the calibration's requests are not the tool's
    result["times"]["rss_mib"] = usage.ru_maxrss / 1024
    shown = " ".join(f"{k}={v:.2f}" for k, v in result["times"].items())
    print(f"  {tool:11} {backend:6} {shown}", flush=True)
    return result


def floors(result: Result) -> dict[str, tuple[float, float, int]]:
    """For each phase: (floor at full concurrency, sequential floor, requests sent), from
    the server times measured just before that phase."""
    found = {}
    for phase, counts in result.get("requests", {}).items():
        per = result["per_request"][phase]
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
    parser.add_argument(
        "--runs", type=int, default=1, help="run each tool N times; keep each phase's best"
    )
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
        server.create_bucket(FLOOR_BUCKET)
        for attempt in range(args.runs):
            for tool, backends in TOOLS_RUN:
                for backend in backends:
                    if backend not in args.backends.split(","):
                        continue
                    if tool == "rubicon" and backend == "s3" and args.skip_rubicon_s3:
                        continue
                    bucket = f"bench-{tool}-{attempt}"
                    server.create_bucket(bucket)
                    folder = WORK / "tracking" / tool
                    shutil.rmtree(folder, ignore_errors=True)
                    root = f"s3://{bucket}/root" if backend == "s3" else str(folder)
                    result = run(pythons[tool], tool, backend, root, env, args)
                    results[(tool, backend)] = best(results.get((tool, backend)), result)
    report(results, args)


def best(kept: Result | None, new: Result) -> Result:
    """Per phase, the faster of two runs (with that run's requests, CPU and floor)."""
    if kept is None:
        return new
    for phase, took in new["times"].items():
        if phase in ("cpu", "rss_mib") or took < kept["times"].get(phase, float("inf")):
            for part in ("times", "cpu", "requests", "per_request"):
                if phase in new.get(part, {}):
                    kept.setdefault(part, {})[phase] = new[part][phase]
    return kept


def report(results: dict[tuple[str, str], Result], args: Any) -> None:
    tools = ("ferry", "ferry-bg", "ferry-async", "rubicon", "mlflow")
    pairs = (("rubicon", "ferry"), ("rubicon", "ferry-bg"), ("rubicon", "ferry-async"),
             ("mlflow", "ferry"))  # fmt: skip
    print(
        f"\nTracking: {args.metrics} metrics; {args.experiments} experiments x (10 params + "
        "10 metrics); seconds inside each process; ratio = peer / ferry."
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
    print_floors(results)
    print_cpu(results)


def print_cpu(results: dict[tuple[str, str], Result]) -> None:
    """CPU seconds per phase on the local disk, where each tool works alone in its process
    (less swayed than wall time by other load on the machine)."""
    tools = [t for t in ("ferry", "rubicon", "mlflow") if (t, "local") in results]
    print("\nCPU seconds per phase, local disk:")
    print(f"{'phase':16}" + "".join(f"{t:>10}" for t in tools))
    for phase in (*WRITES, *READS):
        cells = [results[(t, "local")].get("cpu", {}).get(phase) for t in tools]
        print(
            f"{phase:16}" + "".join(f"{c:>10.3f}" if c is not None else f"{'-':>10}" for c in cells)
        )


def print_floors(results: dict[tuple[str, str], Result]) -> None:
    print(
        "\nRequest floor on S3 = requests sent x the server's time per request, measured "
        "just before each phase: at full concurrency (32 in flight), and one by one (what a "
        "call that waits for its answer cannot beat); time / floor"
    )
    print(
        f"{'tool':12}{'phase':16}{'requests':>10}{'ms/req':>8}{'seq.ms':>8}{'time':>9}"
        f"{'floor':>9}{'seq.floor':>10}{'time/floor':>11}{'time/seq':>10}"
    )
    for tool in ("ferry", "ferry-bg", "ferry-async"):
        result = results.get((tool, "s3"))
        if result is None:
            continue
        for phase, (full, sequential, count) in floors(result).items():
            took, per = result["times"][phase], result["per_request"][phase]
            kind = "PUT" if phase in WRITES else "GET"
            print(
                f"{tool:12}{phase:16}{count:>10}{per[kind] * 1000:>8.3f}"
                f"{per['sequential ' + kind] * 1000:>8.3f}{took:>9.3f}{full:>9.3f}"
                f"{sequential:>10.3f}{took / full:>10.2f}x{took / sequential:>9.2f}x"
            )


if __name__ == "__main__":
    main()
