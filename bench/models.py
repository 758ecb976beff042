"""Model store benchmark: ferry beside modelstore 0.0.81, one invocation, the same backends.

    .venv/bin/python bench/models.py [--repeats 5] [--models 50]

On local disk and on the local S3 server (ministack on 127.0.0.1), each tool in its own
process, both writing modelstore's layout: upload and load of a 50-tree scikit-learn random
forest, ``list_models`` of a domain of --models models, and the objects one failed upload
leaves behind (the same bad call for both). modelstore runs in its own virtual environment
(numpy<2, as it needs), installed by this script. Also prints `import ferry` and
`import modelstore` times. Ratios: modelstore time / ferry time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TOOLS, WORK

from ferry.devserver import LocalS3Server, ensure_tool

WORKLOAD = Path(__file__).resolve().parent / "_models_workload.py"
# The same venv as tests/models/test_modelstore_compat.py (keep the two lists equal, or
# each would reinstall it for the other).
MODELSTORE = ("modelstore==0.0.81", "numpy<2", "setuptools<81", "scikit-learn", "boto3")


def import_time(python: Path, module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [str(python), "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return sorted(runs)[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", type=int, default=50)
    args = parser.parse_args()
    pythons = {
        "ferry": Path(sys.executable),
        "modelstore": ensure_tool("modelstore", MODELSTORE, TOOLS) / "python",
    }
    results: dict[tuple[str, str], dict[str, float]] = {}
    with LocalS3Server(tools_dir=TOOLS) as server:
        env = {**os.environ, **server.env()}
        for tool, python in pythons.items():
            for backend in ("local", "s3"):
                root = str(WORK / "models" / tool)
                shutil.rmtree(root, ignore_errors=True)
                (WORK / "models").mkdir(parents=True, exist_ok=True)
                if backend == "s3":
                    root = f"models-{tool}"
                    server.create_bucket(root)
                out = subprocess.run(
                    [
                        str(python),
                        str(WORKLOAD),
                        tool,
                        backend,
                        root,
                        "--repeats",
                        str(args.repeats),
                        "--models",
                        str(args.models),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    raise SystemExit(f"{tool} on {backend} failed:\n{out.stderr[-3000:]}")
                results[(tool, backend)] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nModel store, median of {args.repeats}; seconds (orphans: objects left)")
    print(f"{'backend':8}{'phase':12}{'ferry':>10}{'modelstore':>12}{'modelstore/ferry':>18}")
    for backend in ("local", "s3"):
        for phase in ("upload", "load", "list"):
            ferry, peer = (
                results[("ferry", backend)][phase],
                results[("modelstore", backend)][phase],
            )
            name = f"list {args.models}" if phase == "list" else phase
            print(f"{backend:8}{name:12}{ferry:>10.3f}{peer:>12.3f}{peer / ferry:>17.1f}x")
        ferry_left = results[("ferry", backend)]["orphans"]
        peer_left = results[("modelstore", backend)]["orphans"]
        print(f"{backend:8}{'orphans':12}{ferry_left:>10.0f}{peer_left:>12.0f}")
    ferry_import = import_time(pythons["ferry"], "ferry")
    peer_import = import_time(pythons["modelstore"], "modelstore")
    print(
        f"import  ferry {ferry_import:.3f} s, modelstore {peer_import:.3f} s "
        f"({peer_import / ferry_import:.1f}x)"
    )


if __name__ == "__main__":
    main()
