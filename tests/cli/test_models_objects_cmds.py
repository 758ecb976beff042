"""ferry models ls/show/download/load-test and ferry objects ls/get/rm."""

from __future__ import annotations

import json
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
    store = ModelStore.from_file_system(root)
    first, second = store.upload("churn", model={"v": 1}), store.upload("churn", model={"v": 2})
    store.create_model_state("production")
    store.set_model_state("churn", first, "production")
    assert run("models", "ls", str(root)) == "churn\n"
    assert run("models", "ls", str(root), "churn").split() == [second, first]
    assert json.loads(
        run("models", "ls", str(root), "churn", "--state", "production", "--json")
    ) == [first]
    assert json.loads(run("models", "show", str(root), "churn"))["model_id"] == second
    out = run("models", "download", str(root), "churn", str(tmp_path / "dl"), "--model-id", first)
    assert (tmp_path / "dl" / "model.json").is_file() and "downloaded" in out
    assert "loaded builtins.dict" in run("models", "load-test", str(root), "churn")
    assert "No model 'nope'" in run("models", "show", str(root), "churn", "nope", code=5)


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
