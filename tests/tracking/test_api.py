"""The rest of rubicon-ml's client API in ferry: storage options, failure modes,
environment and model artifacts, archives, stray folders (behaviour shared with rubicon-ml
itself is compared in test_rubicon_compat.py)."""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry import CredentialsError, Rubicon, RubiconException
from ferry.devserver import LocalS3Server
from ferry.tracking import TagContainer, set_failure_mode


@pytest.fixture
def rubicon(tmp_path: Path) -> Rubicon:
    return Rubicon(root_dir=str(tmp_path / "root"))


@pytest.fixture
def failure_mode() -> Iterator[None]:
    yield
    set_failure_mode("raise")


def test_s3fs_options_reach_s3_without_any_environment(
    s3_server: LocalS3Server, bucket: str
) -> None:
    """key/secret/client_kwargs as rubicon-ml users pass them to s3fs; no AWS variables."""
    options: dict[str, Any] = {
        "client_kwargs": {"endpoint_url": s3_server.url, "region_name": "us-east-1"},
        "max_attempts": 1,
    }
    with pytest.raises(CredentialsError, match="No AWS credentials"):
        Rubicon(root_dir=f"s3://{bucket}/root", cache=False, **options).create_project("p")
    rb = Rubicon(root_dir=f"s3://{bucket}/root", key="test", secret="test", **options)
    rb.create_project("p").log_experiment("e").log_metric("m", 1.0)
    again = Rubicon(
        root_dir=f"s3://{bucket}/root",
        client_kwargs={**options["client_kwargs"], "aws_access_key_id": "test"},
        secret="test",
    )
    assert again.get_project("p").experiments()[0].metric("m").value == 1.0


def test_anon_reads_a_public_root_without_any_credentials(
    s3_server: LocalS3Server, bucket: str
) -> None:
    """s3fs's anon=True: unsigned requests, so no credentials are looked for (both
    transports: obstore's reads and listings, boto3's checks)."""
    client_kwargs = {"endpoint_url": s3_server.url, "region_name": "us-east-1"}
    writer = Rubicon(
        root_dir=f"s3://{bucket}/public", key="test", secret="test", client_kwargs=client_kwargs
    )
    writer.create_project("open data").log_experiment("e").log_metric("m", 0.5)
    with pytest.raises(CredentialsError, match="No AWS credentials"):
        Rubicon(
            root_dir=f"s3://{bucket}/public",
            cache=False,
            max_attempts=1,
            client_kwargs=client_kwargs,
        ).projects()
    reader = Rubicon(
        root_dir=f"s3://{bucket}/public", cache=False, anon=True, client_kwargs=client_kwargs
    )
    project = reader.get_project("open data")
    assert project.experiments()[0].metric("m").value == 0.5


def test_options_ferry_cannot_honour_are_accepted_with_one_warning(tmp_path: Path) -> None:
    with pytest.warns(UserWarning) as caught:
        rb = Rubicon(
            root_dir=str(tmp_path),
            use_listings_cache=False,
            client_kwargs={"verify": False},
            s3_additional_kwargs={"StorageClass": "STANDARD", "ACL": "private"},
            key="only-a-key",
        )
    assert len(caught) == 1
    message = str(caught[0].message)
    for name in ("use_listings_cache", "client_kwargs.verify", "ACL", "key/secret"):
        assert name in message
    assert rb.storage_options == {"storage_class": "STANDARD"}
    assert rb.create_project("p").name == "p"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Rubicon(root_dir=str(tmp_path), anon=False, region="eu-west-1", profile=None)


def test_memory_roots_are_shared_per_name(tmp_path: Path) -> None:
    Rubicon(persistence="memory", root_dir=f"{tmp_path}/one").create_project("p")
    assert [p.name for p in Rubicon(persistence="memory", root_dir=f"{tmp_path}/one").projects()]
    assert Rubicon(persistence="memory", root_dir=f"{tmp_path}/two").projects() == []


def test_failure_modes_turn_errors_into_warnings_or_log_lines(
    rubicon: Rubicon, failure_mode: None, caplog: pytest.LogCaptureFixture
) -> None:
    experiment = rubicon.create_project("p").log_experiment("e")
    experiment.log_metric("m", 1.0)
    set_failure_mode("warn", traceback_limit=0)
    with pytest.warns(UserWarning, match="A metric with name 'm' already exists."):
        assert experiment.log_metric("m", 2.0) is None
    set_failure_mode("log")
    with caplog.at_level(logging.ERROR):
        assert experiment.metric("missing") is None
        assert rubicon.get_or_create_project("p").name == "p"
    assert "No metric with name 'missing' found." in caplog.text
    set_failure_mode("raise")
    with pytest.raises(RubiconException):
        experiment.log_metric("m", 3.0)
    with pytest.raises(ValueError, match="must be one of"):
        set_failure_mode("quiet")


def test_environment_artifacts(rubicon: Rubicon) -> None:
    experiment = rubicon.create_project("p").log_experiment("e")
    pip = experiment.log_pip_requirements()
    assert pip.name.startswith("requirements-") and pip.name.endswith(".txt")
    assert b"pandas==" in pip.get_data()
    if shutil.which("conda") is None:
        with pytest.raises(RubiconException, match="needs `conda`, which is not on PATH"):
            experiment.log_conda_environment()
    else:
        assert experiment.log_conda_environment("env.yml").get_data()


def test_xgboost_models_round_trip(rubicon: Rubicon) -> None:
    import numpy as np
    import xgboost

    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(64, 3)), rng.integers(0, 2, 64)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(features, label=labels), 3)
    experiment = rubicon.create_project("p").log_experiment("e")
    logged = experiment.log_xgboost_model(booster, tags=["model"])
    assert (logged.name, logged.tags) == ("Booster", ["model"])
    assert logged.get_data().startswith(b"{")  # xgboost's JSON model file
    loaded = experiment.artifact(name="Booster").get_data(deserialize="xgboost")
    matrix = xgboost.DMatrix(features)
    assert np.array_equal(loaded.predict(matrix), booster.predict(matrix))
    with pytest.raises(RubiconException, match="takes an xgboost Booster, not dict"):
        experiment.log_xgboost_model({})


def test_clear_errors_without_h2o_or_dask(rubicon: Rubicon) -> None:
    experiment = rubicon.create_project("p").log_experiment("e")
    logged = experiment.log_artifact(data_bytes=b"model", name="model.bin")
    with pytest.raises(RubiconException, match="log_h2o_model needs h2o.*pip install h2o"):
        experiment.log_h2o_model(object())
    with pytest.raises(RubiconException, match="needs h2o"):
        logged.get_data(deserialize="h2o_mojo")
    with pytest.raises(RubiconException, match="needs dask"):
        rubicon.get_project_as_df("p", df_type="dask")


def test_temporary_download_is_removed_after_the_block(rubicon: Rubicon) -> None:
    artifact = rubicon.create_project("p").log_artifact(data_bytes=b"x", name="x.bin")
    with artifact.temporary_download() as folder:
        assert (Path(folder) / "x.bin").read_bytes() == b"x"
    assert not Path(folder).exists()


def test_tag_container_slices_and_keys() -> None:
    tags = TagContainer(["a", "stage:dev", "stage:prod", "b"])
    assert isinstance(tags[1:3], TagContainer) and tags[1:3]["stage"] == ["dev", "prod"]
    assert tags[0] == "a" and tags[-1] == "b"
    with pytest.raises(KeyError):
        tags["missing"]


def test_archives_of_some_experiments_and_the_latest_only(rubicon: Rubicon, tmp_path: Path) -> None:
    project = rubicon.create_project("p")
    first, second = project.log_experiment("first"), project.log_experiment("second")
    for step in range(3):
        first.log_metric("loss", 1 / (step + 1), step=step)
    with pytest.raises(ValueError, match="`experiments` must be `list`"):
        project.archive(experiments=first)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`remote_rubicon` must be of type"):
        project.archive(remote_rubicon="s3://somewhere")  # type: ignore[arg-type]
    project.archive([first])
    project.archive([second])
    restored = Rubicon(root_dir=str(tmp_path / "restored")).create_project("p")
    assert restored.experiments_from_archive(rubicon, latest_only=True) == 1
    assert [e.name for e in restored.experiments()] == ["second"]
    assert restored.experiments_from_archive(rubicon) == 1
    again = restored.experiment(id=first.id)
    assert [p["value"] for p in again.metric_history("loss")] == [1.0, 0.5, 1 / 3]
    empty = Rubicon(root_dir=str(tmp_path / "empty"))
    empty.create_project("p")
    with pytest.raises(ValueError, match="has no archives"):
        restored.experiments_from_archive(empty)
    with pytest.raises(ValueError, match="no logged `experiments` to archive"):
        empty.get_project("p").archive()


def test_stray_folders_warn_in_rubicon_words(rubicon: Rubicon, tmp_path: Path) -> None:
    rubicon.create_project("p").log_experiment("e").log_metric("m", 1.0)
    root = tmp_path / "root"
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "x-checkpoint.json").write_text("{}")
    metrics = next((root / "p" / "experiments").iterdir()) / "metrics"
    (metrics / ".ipynb_checkpoints").mkdir()
    (metrics / ".ipynb_checkpoints" / "y.json").write_text("{}")
    with pytest.warns(UserWarning) as caught:
        assert [p.name for p in rubicon.projects()] == ["p"]
        assert [m.name for m in rubicon.get_project("p").experiments()[0].metrics()] == ["m"]
    assert [str(w.message) for w in caught] == [
        f"{root}/.ipynb_checkpoints/metadata.json not found. Was this file unintentionally "
        "created?",
        f"{metrics}/.ipynb_checkpoints/metadata.json not found. Was this file unintentionally "
        "created?",
    ]
