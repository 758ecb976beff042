"""One tool's model-store workload, run in that tool's own venv by bench/models.py.

    python _models_workload.py TOOL BACKEND ROOT [--repeats 5] [--models 50]

TOOL: ferry | modelstore; BACKEND: local | s3 (ROOT: a folder, or a bucket name).
Prints one JSON line, each time the median of --repeats, measured in-process:

- upload / load: a 50-tree scikit-learn random forest;
- list: ``list_models`` of a domain holding --models models (uploaded as small files);
- orphans: objects left behind by one upload that fails on bad extra metadata (an object
  that is not JSON): the same call, the same input, for both tools.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["ferry", "modelstore"])
    parser.add_argument("backend", choices=["local", "s3"])
    parser.add_argument("root")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", type=int, default=50)
    args = parser.parse_args()
    store = open_store(args.tool, args.backend, args.root)
    results = forest_phases(store, args.repeats)
    results["list"] = list_phase(store, args.models, args.repeats)
    results["orphans"] = orphans(store, args.backend, args.root)
    print(json.dumps(results))


def open_store(tool: str, backend: str, root: str) -> Any:
    if tool == "ferry":
        from ferry.models import ModelStore
    else:
        from modelstore import ModelStore
    if backend == "local":
        return ModelStore.from_file_system(root_directory=root, create_directory=True)
    return ModelStore.from_aws_s3(root, region="us-east-1")  # endpoint: AWS_ENDPOINT_URL


def forest_phases(store: Any, repeats: int) -> dict[str, float]:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    x = np.random.default_rng(0).normal(size=(2000, 20))
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(x, x[:, 0] > 0)
    uploads, loads = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        model_id = store.upload("forest", model=model)["model"]["model_id"]
        uploads.append(time.perf_counter() - started)
        started = time.perf_counter()
        loaded = store.load("forest", model_id)
        loads.append(time.perf_counter() - started)
        assert (loaded.predict(x[:50]) == model.predict(x[:50])).all()
    return {"upload": statistics.median(uploads), "load": statistics.median(loads)}


def list_phase(store: Any, count: int, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.bin")
        with open(path, "wb") as out:
            out.write(b"weights")
        for _ in range(count):
            store.upload("listed", model=path)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert len(store.list_models("listed")) == count
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def orphans(store: Any, backend: str, root: str) -> int:
    before = count_objects(backend, root)
    try:
        store.upload("broken", model=__file__, extra_metadata={"bad": object()})
    except Exception:  # each tool's own error; what it leaves behind is what counts
        pass
    else:
        raise AssertionError("the upload was meant to fail")
    return count_objects(backend, root) - before


def count_objects(backend: str, root: str) -> int:
    if backend == "local":
        return sum(len(files) for _, _, files in os.walk(root))
    import boto3

    pages = boto3.client("s3", region_name="us-east-1").get_paginator("list_objects_v2")
    return sum(page.get("KeyCount", 0) for page in pages.paginate(Bucket=root))


if __name__ == "__main__":
    main()
