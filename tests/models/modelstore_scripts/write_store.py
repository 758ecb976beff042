"""Run by modelstore 0.0.81 in its own venv: write a store for ferry to read.

    python write_store.py BACKEND ROOT OUT_DIR     (BACKEND: filesystem | aws-s3)

Uploads a random forest (with two extra files and extra metadata) under a chosen id, a
second model that it then deletes, and puts the first in the "production" state. Prints
JSON: the ids, the first upload's returned metadata and its predictions on fixed input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from modelstore import ModelStore
from sklearn.ensemble import RandomForestClassifier


def open_store(backend: str, root: str) -> ModelStore:
    if backend == "aws-s3":
        return ModelStore.from_aws_s3(root, region="us-east-1", root_prefix="team")
    return ModelStore.from_file_system(root, create_directory=True)


def main() -> None:
    backend, root, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = open_store(backend, root)
    x = np.random.default_rng(0).normal(size=(80, 4))
    model = RandomForestClassifier(n_estimators=4, random_state=0).fit(x, x[:, 0] > 0)
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.yaml").write_text("columns: [a, b, c, d]\n")
    (out / "notes.txt").write_text("written by modelstore\n")
    meta = store.upload(
        "churn",
        model_id="ms-forest-1",
        model=model,
        extra_files=[str(out / "features.yaml"), str(out / "notes.txt")],
        extra_metadata={"auc": 0.91, "owner": "modelstore"},
    )
    gone = store.upload("churn", model=model)["model"]["model_id"]
    store.create_model_state("production")
    store.set_model_state("churn", "ms-forest-1", "production")
    store.delete_model("churn", gone, skip_prompt=True)
    grid = np.linspace(-2, 2, 40).reshape(10, 4)
    print(
        json.dumps(
            {
                "model_id": "ms-forest-1",
                "deleted": gone,
                "meta": meta,
                "predictions": model.predict(grid).tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
