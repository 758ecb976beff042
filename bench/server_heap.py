"""Does the local S3 server charge a pull for how its objects were uploaded?

    .venv/bin/python bench/server_heap.py [--runs 8] [--set B|C]

Why ``bench/sync.py`` starts the server with ``SERVER_ENV``. Two servers run side by
side, one with glibc's default allocator and one with ``SERVER_ENV``; each run, on each
server in turn (the order alternating, so that a machine whose speed drifts treats both
alike), uploads the set once with ferry and once with s5cmd, and each upload is pulled by
both tools, so every (uploader, puller) pair meets the same server. Printed per server
and pair: the pull's wall time and client CPU, the server's CPU and its minor page faults
over the pull (medians), and the server's CPU per run. The page faults show the
mechanism: a response's buffers on fresh pages (each faulted in and zeroed) or on reused
ones.

Measured (2 cores, ministack 1.5.33, 8 runs, 2026-11-27), set B (20 x 20 MiB), per pull:
server CPU and minor page faults, medians. Default allocator: ferry's objects 0.515 s and
77,850 faults pulled by ferry, 0.525 s and 60,138 by s5cmd; s5cmd's objects 0.385 s and 2
faults pulled by ferry, 0.400 s and 8,236 by s5cmd. With ``SERVER_ENV``: 0.330-0.370 s and
at most 78 faults for all four. The cost followed the uploader, not the puller (after
ferry's uploads most of a response's buffers were fresh pages), so where each tool pulls
what it pushed, as in ``bench/sync.py``, a tool could be charged for the state its upload
left the server's heap in; how much varied with what ran before (a default-allocator pass
of ``bench/sync.py`` in the same hour had ferry's B pull at 1.07x s5cmd's). The pulls'
wall times are noisier than the server's figures: each tool pulling its own upload with
``SERVER_ENV``, ferry 0.648 s and s5cmd 0.603 s in this run, 0.450 and 0.467 s in a 6-run
pass an hour before it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server
from ferry.storage.s3 import S3Options, S3Store
from sync import (
    BUCKET,
    SERVER_ENV,
    SETS,
    Run,
    Server,
    Tool,
    client_env,
    make_set,
    measure_in,
    run_order,
    tools,
    warm_up,
    workspace,
)


class Faults(Server):
    """The server's CPU, as in bench/sync.py, and its minor page faults read with it.
    ``measure_in``'s last two ``cpu()`` calls are its before and after, so the faults
    between the last two reads cover exactly the interval its CPU figure does."""

    last = previous = 0

    def cpu(self) -> float:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        self.previous, self.last = self.last, int(fields[7])
        return (int(fields[11]) + int(fields[12])) / self.tick


@dataclass
class Side:
    """One server, the tools pointed at it, and what its pulls measured."""

    name: str
    server: LocalS3Server
    probe: Faults
    env: dict[str, str]
    store: S3Store
    pair: list[Tool]
    found: dict[tuple[str, str], list[tuple[Run, int]]]


def start(name: str, server_env: dict[str, str], stack: contextlib.ExitStack) -> Side:
    server = stack.enter_context(LocalS3Server(tools_dir=TOOLS, env=server_env))
    assert server.pid is not None
    server.create_bucket(BUCKET)
    env = client_env(server)
    os.environ.update(server.env())  # credentials for the store below (the same for both)
    store = S3Store(f"s3://{BUCKET}", S3Options(endpoint_url=server.url, region="us-east-1"))
    pair = tools(server.url, ["ferry", "s5cmd"], [])
    warm_up(pair[0], env, store)
    return Side(name, server, Faults(server.pid), env, store, pair, {})


def one_run(side: Side, data: Path, run: int, count: int) -> None:
    for up in run_order(side.pair, run):
        url = f"s3://{BUCKET}/{up.name}-{run}/data"
        work = WORK / "server-heap" / up.name
        shutil.rmtree(work, ignore_errors=True)
        source = workspace(work / "up", url) if up.name == "ferry" else work / "up" / "data"
        shutil.copytree(data, source)
        measure_in(up.push(source, url), work / "up", {**side.env, "PWD": str(work / "up")}, None)
        for down in run_order(side.pair, run + 1):
            into = WORK / "server-heap" / f"down-{down.name}"
            shutil.rmtree(into, ignore_errors=True)
            target = workspace(into, url) if down.name == "ferry" else into / "data"
            target.mkdir(parents=True, exist_ok=True)
            pulled = measure_in(down.pull(url, target), into, side.env, side.probe)
            faults = side.probe.last - side.probe.previous
            got = sum(1 for p in target.rglob("*") if p.is_file())
            assert got == count, f"{down.name} pulled {got} of {count} files of {up.name}'s"
            side.found.setdefault((up.name, down.name), []).append((pulled, faults))
            shutil.rmtree(into, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        side.store.delete([i.key for i in side.store.list(f"{up.name}-{run}/")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=int, default=8, help="a multiple of 4: each tool first as often"
    )
    parser.add_argument("--set", default="B", choices=["B", "C"])
    args = parser.parse_args()
    data = make_set(args.set)
    with contextlib.ExitStack() as stack:  # both servers stopped whatever happens
        sides = [
            start("glibc's default allocator", {}, stack),
            start("SERVER_ENV", SERVER_ENV, stack),
        ]
        for run in range(args.runs):
            for side in sides if run % 2 == 0 else sides[::-1]:
                one_run(side, data, run, SETS[args.set][0])
    for side in sides:
        print(f"\nset {args.set}, server with {side.name}, median of {args.runs}")
        for (up, down), found in sorted(side.found.items()):
            runs = [r for r, _ in found]
            print(
                f"uploaded by {up:<6} pulled by {down:<6}"
                f" wall {statistics.median(r.wall for r in runs):.3f}s"
                f" cpu {statistics.median(r.cpu for r in runs):.3f}s"
                f" server cpu {statistics.median(r.server_cpu for r in runs):.3f}s"
                f" faults {statistics.median(f for _, f in found):>7,.0f}"
                f"  ({' '.join(f'{r.server_cpu:.2f}' for r in runs)})"
            )


if __name__ == "__main__":
    main()
