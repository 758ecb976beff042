"""Each flavour saves modelstore's files and loads the model back (XGBoost and LightGBM are
installed by the dev set-up; PyTorch runs where it is installed)."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm
import numpy as np
import pytest
import xgboost

from ferry.errors import ConfigError
from ferry.models import ModelStore
from ferry.models.flavours import detect

X = np.random.default_rng(0).normal(size=(200, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture
def models(tmp_path: Path) -> ModelStore:
    return ModelStore.from_file_system(tmp_path / "models", create_directory=True)


def files_of(models: ModelStore, tmp_path: Path, domain: str) -> list[str]:
    folder = Path(models.download(tmp_path / domain, domain))
    return sorted(p.name for p in folder.iterdir())


def test_xgboost_models_and_boosters(models: ModelStore, tmp_path: Path) -> None:
    model = xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(X, Y)
    meta = models.upload("xgb", model=model)
    assert meta["model"]["model_type"]["library"] == "xgboost"
    assert meta["model"]["model_type"]["type"] == "XGBClassifier"
    assert meta["model"]["parameters"]["max_depth"] == 2
    loaded = models.load("xgb")
    assert isinstance(loaded, xgboost.XGBClassifier)
    assert (loaded.predict(X) == model.predict(X)).all()
    assert files_of(models, tmp_path, "xgb") == [
        "config.json",
        "model-info.json",
        "model.json",
        "model.xgboost",
    ]
    booster = model.get_booster()
    models.upload("booster", model=booster)
    loaded_booster = models.load("booster")
    assert isinstance(loaded_booster, xgboost.Booster)
    matrix = xgboost.DMatrix(X)
    assert np.allclose(loaded_booster.predict(matrix), booster.predict(matrix))


def test_lightgbm_boosters_and_sklearn_wrappers(models: ModelStore, tmp_path: Path) -> None:
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4}
    booster = lightgbm.train(params, lightgbm.Dataset(X, Y), num_boost_round=3)
    meta = models.upload("lgb", model=booster)
    assert meta["model"]["model_type"]["library"] == "lightgbm"
    assert meta["model"]["parameters"]["num_leaves"] == 4
    assert np.allclose(models.load("lgb").predict(X), booster.predict(X))
    assert files_of(models, tmp_path, "lgb") == ["model-info.json", "model.json", "model.txt"]
    assert json.loads((tmp_path / "lgb" / "model.json").read_text())["name"] == "tree"
    wrapper = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, Y)
    assert models.upload("wrapped", model=wrapper)["model"]["model_type"]["library"] == "sklearn"
    assert (models.load("wrapped").predict(X) == wrapper.predict(X)).all()


def test_pytorch_modules(models: ModelStore, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    meta = models.upload("net", model=net, optimizer=optimizer)
    assert meta["model"]["model_type"] == {"library": "pytorch", "type": "Linear", "models": None}
    assert meta["model"]["parameters"]["param_groups"][0]["lr"] == 0.1
    inputs = torch.tensor(X[:5], dtype=torch.float32)
    assert torch.allclose(models.load("net")(inputs), net(inputs))
    assert files_of(models, tmp_path, "net") == ["checkpoint.pt", "model-info.json", "model.pt"]


def test_other_objects_use_joblib_and_no_library_is_imported_to_detect() -> None:
    assert detect({"weights": [1, 2]}).library == "ferry.joblib"
    assert detect(np.arange(3)).library == "ferry.joblib"


def test_records_from_libraries_ferry_cannot_load_say_so(models: ModelStore) -> None:
    models.upload("d", "v1", model=1)
    key = "operatorai-model-store/d/versions/v1.json"
    record = json.loads(models.store.get(key))
    record["model"]["model_type"] = {"library": "catboost", "type": "CatBoostClassifier"}
    models.store.put(key, json.dumps(record).encode())
    with pytest.raises(ConfigError, match="catboost"):
        models.load("d", "v1")
