"""Runs benchmark: how long ``ferry run`` takes around the training, on the local emulators.

    .venv/bin/python bench/runs.py [--runs 3] [--epochs 3]

S3 is ministack, EC2/IAM/STS/SSM/tagging is moto's server (each in its own venv under
.tools/), and instances boot by themselves as local processes (``ferry.devec2``, as
``ferry dev ec2`` does): ``ferry run`` is the real command line, in its own process, with no
test hook. Two figures per run, each split into its phases:

- launch: from ``ferry run`` starting to the training command starting;
- teardown: from the training command ending to ``ferry run`` exiting with
  "0 cost-generating resources left" verified.

Each phase is timed from the run's own records (the ledger's fsynced lines on the dev
machine, ``status.json``'s phases on the instance: one clock, one machine). The emulators'
per-call latency is measured first (a warm client, so it is the server's time): every
phase's figure includes the calls it makes to them. The target: under 10 s each beyond the
emulators' own latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import FERRY, TOOLS, WORK

from ferry.devec2 import (
    LocalEc2Server,
    LocalInstances,
    LocalLauncher,
    write_sample_project,
)
from ferry.devserver import DEV_CREDENTIALS, LocalS3Server

BUCKET = "ferry-bench-runs"
TARGET_S = 10.0


def latency(call: Any, count: int = 30) -> float:
    """Median seconds of one call."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def emulator_latency(s3: LocalS3Server, ec2: LocalEc2Server) -> dict[str, float]:
    """Median per-call time of a few calls a run makes, from a warm boto3 client."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3.url,
        region_name="us-east-1",
        aws_access_key_id=DEV_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DEV_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.put_object(Bucket=BUCKET, Key="probe", Body=b"x" * 1024)
    ec2_client, ssm = ec2.client("ec2"), ec2.client("ssm")
    return {
        "S3 PUT 1 KiB": latency(
            lambda: client.put_object(Bucket=BUCKET, Key="probe", Body=b"x" * 1024)
        ),
        "S3 GET 1 KiB": latency(
            lambda: client.get_object(Bucket=BUCKET, Key="probe")["Body"].read()
        ),
        "S3 LIST": latency(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix="p")),
        "EC2 DescribeInstances": latency(ec2_client.describe_instances),
        "EC2 DescribeVolumes": latency(ec2_client.describe_volumes),
        "SSM GetParametersByPath": latency(
            lambda: ssm.get_parameters_by_path(Path="/ferry/runs/", Recursive=True)
        ),
    }


def when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def one_run(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """``ferry run --json`` once; its milestones in seconds after the command started."""
    started = time.time()
    done = subprocess.run(
        [str(FERRY), "run", "--json"], cwd=project, env=env, capture_output=True, text=True
    )
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"ferry run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    ledger = Path(env["XDG_STATE_HOME"]) / "ferry" / "runs" / f"{report['run_id']}.jsonl"
    events = [json.loads(line) for line in ledger.read_text().splitlines()]

    def first(event: str, **match: str) -> float:
        for e in events:
            if e["event"] == event and all(e.get(k) == v for k, v in match.items()):
                return when(e["time"]) - started
        raise KeyError(event)

    # The instance may have ended itself (after final.json) before teardown looked.
    try:
        gone = first("terminated")
    except KeyError:
        gone = first("destroyed", kind="instance")

    marks = {
        "start": first("start"),
        "bundle": first("intent", kind="upload-bundle"),
        "bundled": first("bundled"),
        "create": first("intent", kind="run-instance"),
        "created": first("created", kind="instance"),
        "teardown": first("teardown-start"),
        "terminated": gone,
        "done": first("teardown-done"),
        "exit": ended - started,
    }
    for name, span in report["phases"].items():
        marks[f"{name}.start"] = when(span["start"]) - started
        if span.get("end"):
            marks[f"{name}.end"] = when(span["end"]) - started
    return {"marks": marks, "report": report}


LAUNCH = [
    ("CLI start-up, run file, sweep of dead runs", None, "start"),
    ("ledger, identity, AMI, security group", "start", "bundle"),
    ("bundle: build ferry's wheel, upload it", "bundle", "bundled"),
    ("RunInstances (until visible)", "create", "created"),
    ("instance boots, ferry exec starts", "created", "boot.start"),
    ("boot: run.json, secrets, bus", "boot.start", "checkout.start"),
    ("checkout (git clone, overrides)", "checkout.start", "pull.start"),
    ("pull + verify the datasets", "pull.start", "setup.start"),
    ("setup commands", "setup.start", "train.start"),
]
TEARDOWN = [
    ("push logs, models, checkpoints", "train.end", "push.end"),
    ("manifest, final.json", "push.end", "finish.end"),
    ("dev machine sees final.json", "finish.end", "teardown"),
    ("verify the push, instance terminated", "teardown", "terminated"),
    ("delete the rest, listing, report", "terminated", "done"),
    ("CLI exits", "done", "exit"),
]


def table(title: str, rows: list[tuple[str, str | None, str]], runs: list[dict[str, Any]]) -> float:
    print(f"\n{title}")
    print(f"{'phase':<44}{'median':>9}{'min':>8}{'max':>8}")
    total = []
    for label, start, end in rows:
        spans = [r["marks"][end] - (r["marks"][start] if start else 0.0) for r in runs]
        print(f"{label:<44}{statistics.median(spans):>8.2f}s{min(spans):>7.2f}s{max(spans):>7.2f}s")
    first, last = rows[0][1], rows[-1][2]
    total = [r["marks"][last] - (r["marks"][first] if first else 0.0) for r in runs]
    print(f"{'total':<44}{statistics.median(total):>8.2f}s{min(total):>7.2f}s{max(total):>7.2f}s")
    return statistics.median(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    work = WORK / "runs"
    shutil.rmtree(work, ignore_errors=True)
    with LocalS3Server(tools_dir=TOOLS) as s3, LocalEc2Server(tools_dir=TOOLS) as ec2:
        s3.create_bucket(BUCKET)
        ec2.register_image()
        instances = LocalInstances(LocalLauncher(ec2.url, work / "instances")).start()
        try:
            env = {
                **os.environ,
                **s3.env(),
                **ec2.env(),
                "XDG_STATE_HOME": str(work / "state"),
            }
            env.pop("FERRY_SSE_C_KEY", None)
            calls = emulator_latency(s3, ec2)
            project = write_sample_project(
                work / "project", f"s3://{BUCKET}/ws", epochs=args.epochs, pause=0.2
            )
            subprocess.run(
                [str(FERRY), "runs", "setup"], cwd=project, env=env, check=True, capture_output=True
            )
            runs = [one_run(project, env) for _ in range(args.runs)]
        finally:
            instances.stop()
    print(f"ferry run on the emulators, {args.runs} runs, {args.epochs} epochs of 0.2 s each")
    print("\nemulator latency per call (median of 30, warm client)")
    for name, seconds in calls.items():
        print(f"  {name:<28}{seconds * 1000:>7.1f} ms")
    launch = table("launch: ferry run -> training starts", LAUNCH, runs)
    teardown = table(
        'teardown: training ends -> "0 left" verified, ferry run exits', TEARDOWN, runs
    )
    left = {r["report"]["left_count"] for r in runs}
    print(f"\nleft after each run: {sorted(left)}; target: each total under {TARGET_S:.0f} s")
    for name, total in (("launch", launch), ("teardown", teardown)):
        verdict = "met" if total < TARGET_S else "MISSED"
        print(f"  {name}: {total:.2f} s ({verdict}; the emulators' calls are part of it)")


if __name__ == "__main__":
    main()
