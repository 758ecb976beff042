"""Run by modelstore 0.0.81 in its own venv: read a store that ferry wrote to.

    python read_store.py BACKEND ROOT OUT_DIR MODEL_ID DELETED_ID

Prints JSON: what modelstore lists, the model's metadata, its states, the files a
download gives, the loaded model's predictions, and what reading a deleted model raises.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from modelstore import ModelStore
from modelstore.utils.exceptions import ModelDeletedException


def open_store(backend: str, root: str) -> ModelStore:
    if backend == "aws-s3":
        return ModelStore.from_aws_s3(root, region="us-east-1", root_prefix="team")
    return ModelStore.from_file_system(root)


def files(folder: str) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(base, name), folder)
        for base, _, names in os.walk(folder)
        for name in names
    )


def main() -> None:
    backend, root, out, model_id, deleted = sys.argv[1:6]
    store = open_store(backend, root)
    target = os.path.join(out, "modelstore-download")
    os.makedirs(target, exist_ok=True)
    store.download(target, "churn", model_id)
    try:
        store.get_model_info("churn", deleted)
        deleted_error = None
    except ModelDeletedException as exc:
        deleted_error = type(exc).__name__
    grid = np.linspace(-2, 2, 40).reshape(10, 4)
    print(
        json.dumps(
            {
                "domains": store.list_domains(),
                "models": store.list_models("churn"),
                "production": store.list_models("churn", "production"),
                "states": store.list_model_states(),
                "model_states": store.get_model_states("churn", model_id),
                "info": store.get_model_info("churn", model_id),
                "domain": store.get_domain("churn"),
                "files": files(target),
                "extras": Path(target, "extras", "notes.txt").read_text(),
                "predictions": store.load("churn", model_id).predict(grid).tolist(),
                "deleted_error": deleted_error,
            }
        )
    )


if __name__ == "__main__":
    main()
