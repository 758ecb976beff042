"""Fixtures of the dashboard's tests: a filled tracking root, a model store, a client."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ferry.models import ModelStore
from ferry.tracking import Rubicon
from ferry.ui.app import create_app
from ferry.ui.model_source import ModelSource
from ferry.ui.tracking_source import TrackingSource
from tests.ui.data import fill

FERRY = Path(sys.executable).parent / "ferry"


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A local tracking root with the test project (made once per session)."""
    root = tmp_path_factory.mktemp("ui") / "rubicon"
    return root, fill(Rubicon(root_dir=str(root)))


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local model store: domain 'churn' with two versions, the newer in production."""
    root = tmp_path_factory.mktemp("ui") / "models"
    store = ModelStore(str(root))
    store.upload("churn", model={"weights": [1, 2]}, extra_metadata={"auc": 0.86})
    newer = store.upload("churn", model={"weights": [3, 4]}, extra_metadata={"auc": 0.88})
    store.create_model_state("production")
    store.set_model_state("churn", newer["model"]["model_id"], "production")
    return root


@pytest.fixture
def client(filled: tuple[Path, dict[str, Any]], model_root: Path) -> Iterator[TestClient]:
    tracking = TrackingSource.open([str(filled[0])])
    models = ModelSource.open([str(model_root)])
    with TestClient(create_app(tracking, models, allowed_hosts=["testserver"])) as test_client:
        yield test_client


@contextlib.contextmanager
def serve(*args: str) -> Iterator[tuple[str, int]]:
    """`ferry ui ARGS` on a free port as a user runs it (with this test's environment);
    its URL and PID; stopped by PID."""
    process = subprocess.Popen(
        [str(FERRY), "ui", *args, "--no-browser", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
        assert found, line
        yield found[1], process.pid
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def served(filled: tuple[Path, dict[str, Any]], model_root: Path) -> Iterator[tuple[str, int]]:
    """`ferry ui ROOT --models STORE`: its URL and PID."""
    with serve(str(filled[0]), "--models", str(model_root)) as found:
        yield found
