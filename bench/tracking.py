"""Tracking benchmark: ferry beside rubicon-ml and MLflow's local store, one invocation.

    .venv/bin/python bench/tracking.py [--experiments 200] [--metrics 1000] [--skip-rubicon-s3]

Each tool runs bench/_tracking_workload.py in its own virtual environment (rubicon-ml 0.15.3
and mlflow-skinny installed by this script under the tools folder), one process per tool and
backend, so CPU time and peak RSS are that tool's own. S3 runs use one local S3 server
(ministack on 127.0.0.1). Phase times are measured inside each process (no start-up);
ratios are peer time / ferry time (above 1: ferry is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server, ensure_tool

WORKLOAD = Path(__file__).resolve().parent / "_tracking_workload.py"
PHASES = ("log_metrics", "create", "read_back", "to_df", "growth")


def run(
    python: Path, tool: str, backend: str, root: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, float]:
    command = [
        str(python),
        str(WORKLOAD),
        tool,
        backend,
        root,
        "--experiments",
        str(args.experiments),
        "--metrics",
        str(args.metrics),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} on {backend} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - started
    result["cpu"] = usage.ru_utime + usage.ru_stime
    result["rss_mib"] = usage.ru_maxrss / 1024
    print(
        f"  {tool:8} {backend:6} " + " ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True
    )
    return dict(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument(
        "--skip-rubicon-s3",
        action="store_true",
        help="rubicon-ml on S3 takes about ten minutes at full size",
    )
    parser.add_argument(
        "--backends", default="s3,local,memory", help="comma-separated subset of s3,local,memory"
    )
    args = parser.parse_args()
    pythons = {
        "ferry": Path(sys.executable),
        "ferry-async": Path(sys.executable),
        "rubicon": ensure_tool("rubicon-ml-s3", ("rubicon-ml[s3]==0.15.3",), TOOLS) / "python",
        "mlflow": ensure_tool("mlflow", ("mlflow-skinny", "pandas"), TOOLS) / "python",
    }
    results: dict[tuple[str, str], dict[str, float]] = {}
    with LocalS3Server(tools_dir=TOOLS) as server:
        env = {**os.environ, **server.env()}
        for tool, backends in (
            ("ferry", ("s3", "local", "memory")),
            ("ferry-async", ("s3",)),
            ("rubicon", ("s3", "local", "memory")),
            ("mlflow", ("local",)),
        ):
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
    report(results, args)


def report(results: dict[tuple[str, str], dict[str, float]], args: argparse.Namespace) -> None:
    tools = ("ferry", "ferry-async", "rubicon", "mlflow")
    pairs = (("rubicon", "ferry"), ("rubicon", "ferry-async"), ("mlflow", "ferry"))
    print(
        f"\nTracking: {args.metrics} metrics; {args.experiments} experiments x (10 params + "
        "10 metrics); seconds inside each process; ratio = peer / ferry"
    )
    print(
        f"{'backend':8}{'phase':13}"
        + "".join(f"{t:>12}" for t in tools)
        + "".join(f"{p + '/' + b:>20}" for p, b in pairs)
    )
    for backend in ("s3", "local", "memory"):
        for phase in (*PHASES, "cpu", "rss_mib"):
            row = {t: results.get((t, backend), {}).get(phase) for t in tools}
            if row["ferry"] is None:
                continue
            cells = "".join(f"{v:>12.2f}" if v is not None else f"{'-':>12}" for v in row.values())
            ratios = ""
            for peer, base in pairs:
                peer_time, base_time = row[peer], row[base]
                usable = peer_time is not None and base_time and phase in PHASES[:4]
                ratios += f"{peer_time / base_time:>19.1f}x" if usable else f"{'':>20}"
            print(f"{backend:8}{phase:13}{cells}{ratios}")


if __name__ == "__main__":
    main()
