"""Fixtures of the dashboard's tests: a filled tracking root, a model store, a client."""

from __future__ import annotations

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
    store.set_model_state("churn", newer, "production")
    return root


@pytest.fixture
def client(filled: tuple[Path, dict[str, Any]], model_root: Path) -> Iterator[TestClient]:
    tracking = TrackingSource.open([str(filled[0])])
    models = ModelSource.open([str(model_root)])
    with TestClient(create_app(tracking, models, allowed_hosts=["testserver"])) as test_client:
        yield test_client
