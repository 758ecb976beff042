"""Storage benchmark: ferry beside `aws s3 cp --recursive` on the same data and server.

    make bench            (or: .venv/bin/python bench/storage.py [--runs 3] [--large-mib 500])

Data: 1,000 objects of 4 KiB in 10 folders, and one 500 MiB file. Phases: put and get of
each, every tool against the same local S3 server (ministack on 127.0.0.1), each command
a fresh process (start-up included, as a user would see it), median of --runs. Printed per
tool: wall time, CPU time, peak RSS; and each peer's wall time divided by ferry's (above 1:
ferry is faster). Both tools upload with the INTELLIGENT_TIERING storage class.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import FERRY, TOOLS, WORK, Sample, measure, median_of, print_table

from ferry.devserver import LocalS3Server, ensure_tool
from ferry.storage.s3 import S3Options, S3Store

BUCKET = "bench"


def make_data(large_mib: int) -> tuple[Path, Path]:
    small = WORK / "small"
    if not small.exists() or sum(1 for _ in small.rglob("*.bin")) != 1000:
        shutil.rmtree(small, ignore_errors=True)
        for i in range(1000):
            path = small / f"dir{i % 10}" / f"obj{i:04d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(4096))
    large = WORK / "large" / "big.bin"
    if not large.exists() or large.stat().st_size != large_mib * 1024 * 1024:
        large.parent.mkdir(parents=True, exist_ok=True)
        with open(large, "wb") as handle:
            for _ in range(large_mib):
                handle.write(os.urandom(1024 * 1024))
    return small, large


def commands(tool: str, aws: Path, endpoint: str, ferry: Path = FERRY) -> dict[str, list[str]]:
    if tool.startswith("ferry"):
        return {"cp": [str(ferry), "cp"], "cp -r": [str(ferry), "cp", "-r"]}
    base = [str(aws), "s3", "cp", "--endpoint-url", endpoint, "--only-show-errors"]
    return {
        "cp": [*base, "--storage-class", "INTELLIGENT_TIERING"],
        "cp -r": [*base, "--recursive", "--storage-class", "INTELLIGENT_TIERING"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-mib", type=int, default=500)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Another ferry executable (an older checkout's) to run beside this one, as "
        "'ferry@base': a before/after in one run.",
    )
    args = parser.parse_args()

    aws = ensure_tool("awscli", ("awscli",), TOOLS) / "aws"
    small, large = make_data(args.large_mib)
    with LocalS3Server(tools_dir=TOOLS) as server:
        server.create_bucket(BUCKET)
        env = {**os.environ, **server.env()}
        env.pop("FERRY_SSE_C_KEY", None)
        os.environ.update(server.env())
        store = S3Store(f"s3://{BUCKET}", S3Options(endpoint_url=server.url, region="us-east-1"))
        tools = {
            "ferry": commands("ferry", aws, server.url),
            "aws": commands("aws", aws, server.url),
        }
        if args.baseline:
            tools["ferry@base"] = commands("ferry@base", aws, server.url, args.baseline)
        rows: list[tuple[str, dict[str, Sample]]] = [
            (phase, {})
            for phase in (
                "put 1000 x 4 KiB",
                "get 1000 x 4 KiB",
                f"put 1 x {args.large_mib} MiB",
                f"get 1 x {args.large_mib} MiB",
            )
        ]
        for i in range(args.runs):  # interleaved: each run, every tool in turn
            for tool, cmd in tools.items():
                prefix = f"s3://{BUCKET}/{tool}/{i}"
                out = WORK / "out" / tool
                shutil.rmtree(out, ignore_errors=True)
                runs = [
                    [*cmd["cp -r"], str(small), f"{prefix}/small"],
                    [*cmd["cp -r"], f"{prefix}/small", str(out / "small")],
                    [*cmd["cp"], str(large), f"{prefix}/big.bin"],
                    [*cmd["cp"], f"{prefix}/big.bin", str(out / "big.bin")],
                ]
                for (_, samples), command in zip(rows, runs, strict=True):
                    sample = measure(command, env)
                    samples.setdefault(tool, [])  # type: ignore[arg-type]
                    samples[tool].append(sample)  # type: ignore[attr-defined]
                assert sum(1 for _ in (out / "small").rglob("*.bin")) == 1000
                assert (out / "big.bin").stat().st_size == large.stat().st_size
                store.delete(info.key for info in store.list(f"{tool}/{i}/"))
                shutil.rmtree(out, ignore_errors=True)
        table = [
            (phase, {tool: median_of(len(s), lambda j, s=s: s[j]) for tool, s in by.items()})
            for phase, by in rows
        ]
    print_table(
        f"ferry vs aws s3 cp, median of {args.runs} runs, local S3 server "
        f"(ministack), {os.cpu_count()} cores",
        table,
        baseline="ferry",
    )


if __name__ == "__main__":
    main()
