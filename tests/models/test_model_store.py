"""The model store on local disk and S3: versions, states, flavours, atomic uploads, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from ferry.devserver import LocalS3Server
from ferry.errors import (
    BucketNotFoundError,
    ConfigError,
    CredentialsError,
    EndpointError,
    NotFoundError,
)
from ferry.models import ModelStore
from ferry.storage.s3 import S3Options, S3Store
from tests.support.recording import RecordingStore


@pytest.fixture(params=["local", "s3"])
def models(request: pytest.FixtureRequest, tmp_path: Path) -> ModelStore:
    if request.param == "local":
        return ModelStore.from_file_system(tmp_path / "models")
    server: LocalS3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("dev_credentials")
    bucket = request.getfixturevalue("bucket")
    return ModelStore.from_aws_s3(
        bucket, region="us-east-1", root_prefix="model-store", endpoint_url=server.url
    )


def forest() -> RandomForestClassifier:
    x = np.random.default_rng(0).normal(size=(60, 4))
    return RandomForestClassifier(n_estimators=5, random_state=0).fit(x, x[:, 0] > 0)


def test_upload_then_load_gives_the_same_model(models: ModelStore) -> None:
    model = forest()
    model_id = models.upload("churn", model=model, extra_metadata={"auc": np.float64(0.91)})
    loaded = models.load("churn", model_id)
    x = np.random.default_rng(1).normal(size=(10, 4))
    assert (loaded.predict(x) == model.predict(x)).all()
    info = models.get_model_info("churn")
    assert info["model_id"] == model_id and info["flavour"] == "sklearn"
    assert info["model_type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert "scikit-learn" in info["versions"] and "python" in info["versions"]
    assert info["extra_metadata"] == {"auc": 0.91}


def test_versions_are_ordered_and_the_latest_is_the_default(models: ModelStore) -> None:
    ids = [models.upload("churn", model={"version": i}) for i in range(3)]
    assert models.list_models("churn") == ids[::-1]
    assert models.load("churn") == {"version": 2}
    assert models.load("churn", ids[0]) == {"version": 0}
    assert models.list_domains() == ["churn"]
    assert models.model_exists("churn", ids[1]) and not models.model_exists("churn", "nope")


def test_states(models: ModelStore) -> None:
    first, second = models.upload("churn", model=1), models.upload("churn", model=2)
    with pytest.raises(NotFoundError, match="create_model_state"):
        models.set_model_state("churn", first, "production")
    models.create_model_state("production")
    models.set_model_state("churn", first, "production")
    assert models.list_models("churn", state_name="production") == [first]
    models.remove_model_state("churn", first, "production")
    models.set_model_state("churn", second, "production")
    assert models.list_models("churn", state_name="production") == [second]
    assert models.list_model_states() == ["production"]


def test_download_creates_the_folder_with_model_and_extra_files(
    models: ModelStore, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on November data")
    model_id = models.upload("churn", model=forest(), extra_files=[notes])
    folder = models.download(tmp_path / "out" / "deep", "churn", model_id)
    assert (folder / "model.joblib").is_file()
    assert (folder / "extra" / "notes.txt").read_text() == "trained on November data"
    assert (folder / "model.json").is_file()


def test_delete_asks_unless_told_not_to(models: ModelStore) -> None:
    model_id = models.upload("churn", model=1)
    models.delete_model("churn", model_id, confirm=lambda question: False)
    assert models.model_exists("churn", model_id)
    models.delete_model("churn", model_id, skip_prompt=True)
    assert not models.model_exists("churn", model_id)
    assert models.list_models("churn") == []
    with pytest.raises(NotFoundError, match="No model"):
        models.load("churn", model_id)


def test_missing_domain_and_model_say_what_exists(models: ModelStore) -> None:
    models.upload("churn", model=1)
    with pytest.raises(NotFoundError, match="Domains here: churn"):
        models.load("fraud")
    with pytest.raises(NotFoundError, match="Latest models there"):
        models.get_model_info("churn", "20200101T000000000000Z-deadbeef")


def test_a_failed_upload_leaves_nothing_visible_and_no_orphan(tmp_path: Path) -> None:
    class Unpicklable:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            raise TypeError("cannot pickle this")

    models = ModelStore.from_file_system(tmp_path / "models")
    with pytest.raises(TypeError):
        models.upload("churn", model=Unpicklable())
    assert models.list_models("churn") == []
    assert not any(p.is_file() for p in (tmp_path / "models").rglob("*"))


def test_uploads_write_the_record_last_and_create_only(s3_options: S3Options, bucket: str) -> None:
    recorder = RecordingStore(S3Store(f"s3://{bucket}/m", s3_options))
    ModelStore(store=recorder).upload("churn", model=forest())
    assert recorder.calls == ["put_file", "put"]  # archive first, record (visibility) last


def test_git_commit_is_recorded_inside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        [
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    models = ModelStore.from_file_system(tmp_path / "models")
    assert models.get_model_info("d", models.upload("d", model=1))["git_commit"] == head


def test_s3_setup_errors_say_what_to_fix(
    s3_server: LocalS3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="without s3://: 'my-bucket'"):
        ModelStore.from_aws_s3("s3://my-bucket")
    with pytest.raises(ConfigError, match="'eu-central-1'"):
        ModelStore.from_aws_s3("my-bucket", region="Frankfurt")
    with pytest.raises(CredentialsError, match="aws configure"):
        ModelStore.from_aws_s3("my-bucket", region="us-east-1", endpoint_url=s3_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with pytest.raises(BucketNotFoundError, match="does not exist"):
        ModelStore.from_aws_s3(
            "no-such-bucket-here", region="us-east-1", endpoint_url=s3_server.url
        )
    from ferry.devserver import free_port

    with pytest.raises(EndpointError, match="Could not connect"):
        ModelStore.from_aws_s3(
            "my-bucket",
            region="us-east-1",
            max_attempts=1,
            endpoint_url=f"http://127.0.0.1:{free_port()}",
        )
    with pytest.raises(NotFoundError, match="create_directory=True"):
        ModelStore.from_file_system(tmp_path / "absent", create_directory=False)
