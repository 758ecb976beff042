"""One tool's model-store workload, run in that tool's own venv by bench/models.py.

    python _models_workload.py TOOL BACKEND ROOT [--repeats 5]

TOOL: ferry | modelstore; BACKEND: local | s3 (ROOT: a folder, or a bucket name).
Fits a 50-tree scikit-learn random forest, then uploads and loads it --repeats times;
prints the median upload and load times (seconds, measured in-process) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["ferry", "modelstore"])
    parser.add_argument("backend", choices=["local", "s3"])
    parser.add_argument("root")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 20))
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(x, x[:, 0] > 0)
    if args.tool == "ferry":
        from ferry.models import ModelStore
    else:
        from modelstore import ModelStore
    if args.backend == "local":
        store = ModelStore.from_file_system(root_directory=args.root, create_directory=True)
    elif args.tool == "ferry":
        store = ModelStore.from_aws_s3(
            args.root, region="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]
        )
    else:
        store = ModelStore.from_aws_s3(args.root, region="us-east-1")
    uploads, loads = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = store.upload("forest", model=model)
        uploads.append(time.perf_counter() - started)
        model_id = result if isinstance(result, str) else result["model"]["model_id"]
        started = time.perf_counter()
        loaded = store.load("forest", model_id)
        loads.append(time.perf_counter() - started)
        assert (loaded.predict(x[:50]) == model.predict(x[:50])).all()
    print(json.dumps({"upload": statistics.median(uploads), "load": statistics.median(loads)}))


if __name__ == "__main__":
    main()
