"""ferry models ls/show/upload/download/rm/state/load-test, python -m ferry.models, and
ferry objects ls/get/rm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.models import ModelStore
from ferry.objects import s3store


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_models_commands(tmp_path: Path) -> None:
    root = tmp_path / "models"
    store = ModelStore.from_file_system(root, create_directory=True)
    first = store.upload("churn", model={"v": 1})["model"]["model_id"]
    second = store.upload("churn", model={"v": 2})["model"]["model_id"]
    store.create_model_state("production")
    store.set_model_state("churn", first, "production")
    assert run("models", "ls", str(root)) == "churn\n"
    assert run("models", "ls", str(root), "churn").split() == [second, first]
    assert json.loads(
        run("models", "ls", str(root), "churn", "--state", "production", "--json")
    ) == [first]
    assert json.loads(run("models", "show", str(root), "churn"))["model"]["model_id"] == second
    out = run("models", "download", str(root), "churn", str(tmp_path / "dl"), "--model-id", first)
    assert (tmp_path / "dl" / "model.joblib").is_file() and "downloaded" in out
    assert "loaded builtins.dict" in run("models", "load-test", str(root), "churn")
    assert "model='nope' does not exist" in run(
        "models", "show", str(root), "churn", "nope", code=5
    )
    assert "domain='fraud' does not exist" in run("models", "ls", str(root), "fraud", code=5)


def test_models_upload_rm_and_states(tmp_path: Path) -> None:
    root, saved, notes = str(tmp_path / "models"), tmp_path / "model.onnx", tmp_path / "notes.txt"
    saved.write_bytes(b"onnx")
    notes.write_text("n")
    upload = ("models", "upload", root, "churn", str(saved), "--extra", str(notes))
    assert "does not exist" in run(*upload, code=5)  # the root must exist
    (tmp_path / "models").mkdir()
    model_id = run(*upload, "--metadata", '{"auc": 0.9}').strip()
    info = json.loads(run("models", "show", root, "churn", model_id))
    assert info["extra"] == {"auc": 0.9} and info["model"]["model_type"]["library"] == "model_file"
    assert "not a JSON object" in run(*upload, "--metadata", "[1]", code=3)
    assert run(*upload, "--model-id", "v1").strip() == "v1"
    assert "already exists" in run(*upload, "--model-id", "v1", code=7)
    run("models", "state", "create", root, "production")
    assert "does not exist" in run("models", "state", "set", root, "churn", "v1", "prod", code=5)
    run("models", "state", "set", root, "churn", "v1", "production")
    assert run("models", "state", "ls", root) == "production\n"
    assert run("models", "state", "ls", root, "churn", "v1") == "production\n"
    run("models", "state", "unset", root, "churn", "v1", "production")
    assert run("models", "state", "ls", root, "churn", "v1") == ""
    assert "--yes" in run("models", "rm", root, "churn", "v1", code=3)  # no terminal to ask on
    assert "deleted" in run("models", "rm", root, "churn", "v1", "--yes")
    assert "has been deleted" in run("models", "show", root, "churn", "v1", code=5)
    assert "--yes" in run("models", "state", "rm", root, "production", code=3)
    run("models", "state", "rm", root, "production", "--yes")
    assert run("models", "state", "ls", root) == ""


@pytest.mark.parametrize("storage", ["filesystem", "aws-s3"])
def test_python_m_ferry_models_is_modelstores_command_line(
    storage: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """modelstore's CLI workflow: upload prints the id on stdout; download makes
    PARENT/DOMAIN/MODEL_ID; the store comes from modelstore's variables."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MODEL_STORE_STORAGE": storage}
    if storage == "filesystem":
        (tmp_path / "store").mkdir()
        env["MODEL_STORE_ROOT_PREFIX"] = str(tmp_path / "store")
    else:
        server = request.getfixturevalue("s3_server")
        env |= {**server.env(), "MODEL_STORE_AWS_BUCKET": request.getfixturevalue("bucket")}
    saved = tmp_path / "model.joblib"
    saved.write_bytes(b"joblib bytes")

    def python_m(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ferry.models", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == code, done.stderr
        return done

    model_id = python_m("upload", "demo", str(saved)).stdout.strip()
    python_m("download", "demo", model_id, str(tmp_path / "out"))
    assert (tmp_path / "out" / "demo" / model_id / "model.joblib").read_bytes() == b"joblib bytes"
    env["MODEL_STORE_STORAGE"] = "gcloud"
    assert "MODEL_STORE_STORAGE" in python_m("upload", "demo", str(saved), code=3).stderr


def test_objects_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "objects")
    monkeypatch.setenv("FERRY_PATH", path)
    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path / "cache"))
    s3store({"threshold": 0.42}, "churn/config")
    s3store(b"x" * 2048, "churn/blob")
    listing = run("objects", "ls", "-H", "churn/")
    assert "2.0 KiB churn/blob" in listing and "churn/config" in listing
    assert run("objects", "get", "churn/config") == "{'threshold': 0.42}\n"
    assert "deleted" in run("objects", "rm", "churn/blob")
    assert "No object at" in run("objects", "rm", "churn/blob", code=5)
    monkeypatch.delenv("FERRY_PATH")
    assert "export FERRY_PATH" in run("objects", "ls", code=3)
