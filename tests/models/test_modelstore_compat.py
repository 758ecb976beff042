"""One bucket, two tools: stores written by modelstore work in ferry, and the other way round.

modelstore 0.0.81 runs in a virtual environment of its own under the tools folder (with
numpy<2, as it needs); the scripts it runs are in ``modelstore_scripts/``. Each test runs
on local disk and on the local S3 server, with a scikit-learn model and extra files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from ferry.devserver import LocalS3Server, ensure_tool
from ferry.models import ModelDeletedException, ModelStore
from tests.conftest import TOOLS

SCRIPTS = Path(__file__).parent / "modelstore_scripts"
MODELSTORE = (
    "modelstore==0.0.81",
    "numpy<2",  # modelstore 0.0.81 uses np.float_, gone in numpy 2
    "setuptools<81",  # and pkg_resources (not in Python 3.12's venvs, gone in setuptools 81)
    "scikit-learn",
    "boto3",
)  # the same list as bench/models.py's (or each would reinstall the venv for the other)
GRID = np.linspace(-2, 2, 40).reshape(10, 4)


@pytest.fixture(scope="module")
def modelstore_python() -> Path:
    return ensure_tool("modelstore", MODELSTORE, TOOLS) / "python"


@pytest.fixture(params=["filesystem", "aws-s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, dict[str, str]]:
    """(modelstore's backend name, its root: folder or bucket, environment for it)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MPLBACKEND": "Agg"}
    if request.param == "filesystem":
        return "filesystem", str(tmp_path / "store"), env
    server: LocalS3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("dev_credentials")
    bucket: str = request.getfixturevalue("bucket")
    return "aws-s3", bucket, {**env, **server.env()}


def ferry_store(backend: tuple[str, str, dict[str, str]]) -> ModelStore:
    kind, root, env = backend
    if kind == "filesystem":
        return ModelStore.from_file_system(root)
    return ModelStore.from_aws_s3(
        root, region="us-east-1", root_prefix="team", endpoint_url=env["AWS_ENDPOINT_URL"]
    )


def run_modelstore(python: Path, script: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=env["HOME"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_store_written_by_modelstore_works_in_ferry(
    modelstore_python: Path, backend: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    kind, root, env = backend
    wrote = run_modelstore(modelstore_python, "write_store.py", env, kind, root, str(tmp_path))
    store = ferry_store(backend)
    assert store.list_domains() == ["churn"]
    assert store.list_models("churn") == ["ms-forest-1"]
    assert store.list_models("churn", state_name="production") == ["ms-forest-1"]
    assert store.list_model_states() == ["production"]
    assert store.get_model_states("churn", "ms-forest-1") == ["production"]
    # modelstore's own upload() answer and ferry's get_model_info are the same dict
    assert store.get_model_info("churn", "ms-forest-1") == wrote["meta"]
    # modelstore leaves the domain's "latest" on the model it deleted; ferry's default
    # model is then the newest one left
    assert store.get_domain("churn")["model"]["model_id"] == wrote["deleted"]
    assert store.get_model_info("churn")["model"]["model_id"] == "ms-forest-1"
    assert store.load("churn", "ms-forest-1").predict(GRID).tolist() == wrote["predictions"]
    folder = Path(store.download(tmp_path / "dl", "churn", "ms-forest-1"))
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "extras/features.yaml",
        "extras/notes.txt",
        "model-info.json",
        "model.joblib",
    ]
    assert (folder / "extras" / "notes.txt").read_text() == "written by modelstore\n"
    with pytest.raises(ModelDeletedException):
        store.get_model_info("churn", wrote["deleted"])
    assert wrote["deleted"] in store.list_models("churn", state_name="modelstore-deleted")


def test_a_store_ferry_adds_to_reads_in_modelstore(
    modelstore_python: Path, backend: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    kind, root, env = backend
    run_modelstore(modelstore_python, "write_store.py", env, kind, root, str(tmp_path / "ms"))
    store = ferry_store(backend)
    x = np.random.default_rng(3).normal(size=(80, 4))
    model = RandomForestClassifier(n_estimators=3, random_state=1).fit(x, x[:, 1] > 0)
    notes = tmp_path / "notes.txt"
    notes.write_text("written by ferry\n")
    meta = store.upload(
        "churn", model=model, extras=[notes], extra_metadata={"auc": np.float64(0.93)}
    )
    model_id = meta["model"]["model_id"]
    store.set_model_state("churn", model_id, "production")
    gone = store.upload("churn", model=model)["model"]["model_id"]
    store.delete_model("churn", gone, skip_prompt=True)

    read = run_modelstore(
        modelstore_python, "read_store.py", env, kind, root, str(tmp_path), model_id, gone
    )
    assert read["domains"] == ["churn"]
    # (modelstore orders by seconds: both uploads may fall in the same one)
    assert sorted(read["models"]) == sorted([model_id, "ms-forest-1"])
    assert store.list_models("churn") == [model_id, "ms-forest-1"]
    assert sorted(read["production"]) == sorted([model_id, "ms-forest-1"])
    assert read["model_states"] == ["production"]
    assert read["info"] == {k: v for k, v in meta.items() if k != "ferry"}
    assert read["domain"]["model"]["model_id"] == model_id  # ferry's upload is the latest
    assert read["files"] == ["extras/notes.txt", "model-info.json", "model.joblib"]
    assert read["extras"] == "written by ferry\n"
    assert read["predictions"] == model.predict(GRID).tolist()
    assert read["deleted_error"] == "ModelDeletedException"
