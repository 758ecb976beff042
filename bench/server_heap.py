"""Does the local S3 server charge a pull for how its objects were uploaded?

    .venv/bin/python bench/server_heap.py [--runs 5] [--set B]

Why ``bench/sync.py`` starts the server with ``SERVER_ENV``. Each run uploads the set
once with ferry and once with s5cmd, and each upload is pulled by both tools, so every
(uploader, puller) pair meets the same server; all of it is done twice, on a server with
glibc's default allocator and on one started with ``SERVER_ENV``. Printed per pair: the
pull's wall time and client CPU (medians) and the server's CPU, median and each run.

Measured (2 cores, 5 runs, ministack 1.5.33), set B (20 x 20 MiB), server CPU per pull:
with glibc's default allocator 0.51 and 0.47 s for ferry's objects pulled by ferry and by
s5cmd, 0.36 and 0.36 s for s5cmd's; with ``SERVER_ENV`` 0.35, 0.37, 0.33 and 0.35 s. The
cost followed the uploader, not the puller, so ``bench/sync.py`` (each tool pulls what it
pushed) charged each tool for the state its upload left the server's heap in. Wall time
of each tool pulling its own upload: ferry 0.680 s, s5cmd 0.557 s with the default
allocator; 0.532 and 0.551 s with ``SERVER_ENV``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server
from ferry.storage.s3 import S3Options, S3Store
from sync import (
    BUCKET,
    SERVER_ENV,
    Run,
    Server,
    make_set,
    measure_in,
    run_order,
    tools,
    warm_up,
    workspace,
)


def matrix(data: Path, runs: int, server_env: dict[str, str]) -> dict[tuple[str, str], list[Run]]:
    with LocalS3Server(tools_dir=TOOLS, env=server_env) as server:
        assert server.pid is not None
        cpu = Server(server.pid)
        server.create_bucket(BUCKET)
        env = {**os.environ, **server.env()}
        env.pop("FERRY_SSE_C_KEY", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(server.env())
        store = S3Store(f"s3://{BUCKET}", S3Options(endpoint_url=server.url, region="us-east-1"))
        pair = tools(server.url, ["ferry", "s5cmd"], [])
        warm_up(pair[0], env, store)
        found: dict[tuple[str, str], list[Run]] = {}
        for run in range(runs):
            for up in run_order(pair, run):
                url = f"s3://{BUCKET}/{up.name}-{run}/data"
                work = WORK / "server-heap" / up.name
                shutil.rmtree(work, ignore_errors=True)
                ferry = up.name == "ferry"
                source = workspace(work / "up", url) if ferry else work / "up" / "data"
                shutil.copytree(data, source)
                measure_in(up.push(source, url), work / "up", {**env, "PWD": str(work / "up")}, cpu)
                for down in run_order(pair, run + 1):
                    into = WORK / "server-heap" / f"down-{down.name}"
                    shutil.rmtree(into, ignore_errors=True)
                    ferry = down.name == "ferry"
                    target = workspace(into, url) if ferry else into / "data"
                    target.mkdir(parents=True, exist_ok=True)
                    pulled = measure_in(down.pull(url, target), into, env, cpu)
                    found.setdefault((up.name, down.name), []).append(pulled)
                    shutil.rmtree(into, ignore_errors=True)
                shutil.rmtree(work, ignore_errors=True)
                store.delete([i.key for i in store.list(f"{up.name}-{run}/")])
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--set", default="B")
    args = parser.parse_args()
    data = make_set(args.set)
    for title, server_env in (("glibc's default allocator", {}), ("SERVER_ENV", SERVER_ENV)):
        print(f"\nset {args.set}, server with {title}, median of {args.runs}")
        for (up, down), runs in sorted(matrix(data, args.runs, server_env).items()):
            print(
                f"uploaded by {up:<6} pulled by {down:<6}"
                f" wall {statistics.median(r.wall for r in runs):.3f}s"
                f" cpu {statistics.median(r.cpu for r in runs):.3f}s"
                f" server cpu {statistics.median(r.server_cpu for r in runs):.3f}s"
                f"  ({' '.join(f'{r.server_cpu:.2f}' for r in runs)})"
            )


if __name__ == "__main__":
    main()
