"""The model store on local disk and S3: modelstore's API, ordering, atomic uploads, errors."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Mapping
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
    FerryError,
    NotFoundError,
)
from ferry.models import (
    DomainNotFoundException,
    ModelDeletedException,
    ModelExistsException,
    ModelNotFoundException,
    ModelSaveError,
    ModelStore,
)
from ferry.storage import ObjectInfo, PutMode, open_store
from tests.support.recording import RecordingStore


@pytest.fixture(params=["local", "s3"])
def models(request: pytest.FixtureRequest, tmp_path: Path) -> ModelStore:
    if request.param == "local":
        return ModelStore.from_file_system(tmp_path / "models", create_directory=True)
    server: LocalS3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("dev_credentials")
    bucket = request.getfixturevalue("bucket")
    return ModelStore.from_aws_s3(
        bucket, region="us-east-1", root_prefix="model-store", endpoint_url=server.url
    )


def forest() -> RandomForestClassifier:
    x = np.random.default_rng(0).normal(size=(60, 4))
    return RandomForestClassifier(n_estimators=5, random_state=0).fit(x, x[:, 0] > 0)


def all_keys(models: ModelStore) -> list[str]:
    return [info.key for info in models.store.list("")]


def test_upload_returns_modelstores_record_and_load_gives_the_model(models: ModelStore) -> None:
    model = forest()
    x = np.random.default_rng(1).normal(size=(10, 4))
    meta = models.upload(
        "churn",
        model=model,
        extra_metadata={"auc": np.float64(0.91)},
        X_train=x,
        y_train=np.array([0, 1] * 5),
    )
    model_id = meta["model"]["model_id"]
    assert (models.load("churn", model_id).predict(x) == model.predict(x)).all()
    assert meta["model"]["domain"] == "churn"
    assert meta["model"]["model_type"] == {
        "library": "sklearn",
        "type": "RandomForestClassifier",
        "models": None,
    }
    assert meta["model"]["parameters"]["n_estimators"] == 5
    assert meta["model"]["data"] == {
        "features": {"shape": [10, 4]},
        "labels": {"shape": [10], "values": {"0": 5, "1": 5}},
    }
    assert meta["code"]["runtime"].startswith("python:3.")
    assert "sklearn" in meta["code"]["dependencies"]
    assert meta["extra"] == {"auc": 0.91}
    assert models.get_model_info("churn", model_id) == meta
    assert models.get_domain("churn")["model"]["model_id"] == model_id


def test_the_records_and_archive_are_where_modelstore_keeps_them(models: ModelStore) -> None:
    model_id = models.upload("churn", model=forest())["model"]["model_id"]
    keys = all_keys(models)
    assert f"operatorai-model-store/churn/versions/{model_id}.json" in keys
    assert "operatorai-model-store/domains/churn.json" in keys
    [archive] = [k for k in keys if k.endswith("/artifacts.tar.gz")]
    assert archive.startswith("operatorai-model-store/churn/") and f"/{model_id}/" in archive
    location = models.get_model_info("churn", model_id)["storage"]
    assert (location["prefix"] or location["path"]).endswith(archive)


def test_versions_are_ordered_newest_first_and_the_latest_is_the_default(
    models: ModelStore,
) -> None:
    ids = [models.upload("churn", model={"version": i})["model"]["model_id"] for i in range(3)]
    assert models.list_models("churn") == ids[::-1]
    assert [m["model"]["model_id"] for m in models.list_model_infos("churn")] == ids[::-1]
    assert models.load("churn") == {"version": 2}
    assert models.load("churn", ids[0]) == {"version": 0}
    assert models.list_domains() == ["churn"]
    assert models.model_exists("churn", ids[1]) and not models.model_exists("churn", "nope")
    with pytest.warns(DeprecationWarning):
        assert models.list_versions("churn") == ids[::-1]


def test_domains_are_listed_latest_upload_first(models: ModelStore) -> None:
    for domain in ("a-first", "b-second", "c-third"):
        models.upload(domain, model=1)
    models.upload("a-first", model=2)
    assert models.list_domains() == ["a-first", "c-third", "b-second"]


def test_states(models: ModelStore) -> None:
    first = models.upload("churn", model=1)["model"]["model_id"]
    second = models.upload("churn", model=2)["model"]["model_id"]
    with pytest.raises(ValueError, match="create_model_state"):
        models.set_model_state("churn", first, "production")
    models.create_model_state("production")
    models.create_model_state("production")  # again: nothing happens
    models.create_model_state("staging")
    models.set_model_state("churn", first, "production")
    models.set_model_state("churn", first, "staging")
    assert models.get_model_states("churn", first) == ["production", "staging"]
    assert models.list_models("churn", state_name="production") == [first]
    models.remove_model_state("churn", first, "production")
    models.remove_model_state("churn", first, "production")  # not in it: nothing happens
    models.set_model_state("churn", second, "production")
    assert models.list_models("churn", state_name="production") == [second]
    assert models.list_model_states() == ["production", "staging"]
    with pytest.raises(ValueError, match="does not exist"):
        models.list_models("churn", state_name="prod")


def test_deleting_a_state_takes_every_model_out_of_it(models: ModelStore) -> None:
    models.create_model_state("production")
    for domain in ("churn", "fraud"):
        model_id = models.upload(domain, model=1)["model"]["model_id"]
        models.set_model_state(domain, model_id, "production")
    models.delete_model_state("production", confirm=lambda question: False)
    assert models.list_model_states() == ["production"]
    models.delete_model_state("production", skip_prompt=True)
    assert models.list_model_states() == []
    assert not [k for k in all_keys(models) if "/versions/production/" in k]


def test_reserved_and_invalid_state_names_are_refused(models: ModelStore) -> None:
    model_id = models.upload("churn", model=1)["model"]["model_id"]
    for call in (
        lambda: models.create_model_state("modelstore-deleted"),
        lambda: models.set_model_state("churn", model_id, "modelstore-deleted"),
        lambda: models.remove_model_state("churn", model_id, "modelstore-deleted"),
        lambda: models.delete_model_state("modelstore-deleted", skip_prompt=True),
        lambda: models.create_model_state("ab"),
        lambda: models.create_model_state("a/b/c"),
    ):
        with pytest.raises(ConfigError):
            call()


def test_download_writes_modelstores_files(models: ModelStore, tmp_path: Path) -> None:
    notes, config = tmp_path / "notes.txt", tmp_path / "config"
    notes.write_text("trained on November data")
    config.mkdir()
    (config / "features.yaml").write_text("columns: [a]")
    model_id = models.upload("churn", model=forest(), extras=[notes, config])["model"]["model_id"]
    folder = models.download(tmp_path / "out" / "deep", "churn", model_id)
    assert isinstance(folder, str) and Path(folder).is_absolute()
    assert sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()) == [
        "extras/config/features.yaml",
        "extras/notes.txt",
        "model-info.json",
        "model.joblib",
    ]
    assert json.loads((Path(folder) / "model-info.json").read_text()) == {
        "library": "sklearn",
        "type": "RandomForestClassifier",
    }


def test_extras_as_one_file_and_as_extra_files(models: ModelStore, tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("1")
    two.write_text("2")
    models.upload("churn", model=1, extras=str(one), extra_files=[two])
    folder = Path(models.download(tmp_path / "out", "churn"))
    assert sorted(p.name for p in (folder / "extras").iterdir()) == ["one.txt", "two.txt"]
    with pytest.raises(NotFoundError, match="missing.txt"):
        models.upload("churn", model=1, extras=[tmp_path / "missing.txt"])


def test_a_model_file_is_uploaded_as_a_file(models: ModelStore, tmp_path: Path) -> None:
    saved = tmp_path / "model.onnx"
    saved.write_bytes(b"\x08\x07onnx")
    meta = models.upload("churn", model=str(saved))
    assert meta["model"]["model_type"] == {"library": "model_file", "type": None, "models": None}
    folder = Path(models.download(tmp_path / "out", "churn"))
    assert (folder / "model.onnx").read_bytes() == b"\x08\x07onnx"
    with pytest.raises(ConfigError, match="download"):
        models.load("churn")
    with pytest.raises(NotFoundError, match="not a file"):
        models.upload("churn", model="no/such/file.pkl")


def test_a_chosen_model_id_is_never_overwritten(models: ModelStore) -> None:
    models.upload("churn", "v1", model=1)
    with pytest.raises(ModelExistsException, match="already exists") as caught:
        models.upload("churn", "v1", model=2)
    assert isinstance(caught.value, FerryError) and caught.value.exit_code == 7
    assert models.load("churn", "v1") == 1
    with pytest.raises(ValueError, match="invalid characters"):
        models.upload("churn", "has space", model=1)


def test_a_deleted_model_raises_and_its_id_can_be_used_again(models: ModelStore) -> None:
    models.upload("churn", "v1", model=1)
    models.upload("churn", "v2", model=2)
    models.create_model_state("production")
    models.set_model_state("churn", "v2", "production")
    models.delete_model("churn", "v2", confirm=lambda question: False)
    assert models.model_exists("churn", "v2")
    models.delete_model("churn", "v2", skip_prompt=True)
    for call in (
        lambda: models.get_model_info("churn", "v2"),
        lambda: models.load("churn", "v2"),
        lambda: models.delete_model("churn", "v2", skip_prompt=True),
    ):
        with pytest.raises(ModelDeletedException):
            call()
    assert not models.model_exists("churn", "v2")
    assert models.list_models("churn") == ["v1"]
    assert models.list_models("churn", state_name="production") == []
    assert models.list_models("churn", state_name="modelstore-deleted") == ["v2"]
    assert models.get_domain("churn")["model"]["model_id"] == "v1"  # the latest left
    assert len([k for k in all_keys(models) if k.endswith(".tar.gz")]) == 1
    models.upload("churn", "v2", model=3)
    assert models.load("churn", "v2") == 3
    assert models.list_models("churn", state_name="modelstore-deleted") == []


def test_missing_domains_and_models_raise_modelstores_exceptions(models: ModelStore) -> None:
    with pytest.raises(DomainNotFoundException, match="Domains here: none"):
        models.get_model_info("missing-domain", "missing-model")
    models.upload("churn", "v1", model=1)
    with pytest.raises(ModelNotFoundException, match="Latest models there: v1"):
        models.get_model_info("churn", "missing-model")
    with pytest.raises(DomainNotFoundException, match="Domains here: churn"):
        models.load("fraud")
    for call in (
        lambda: models.list_models("fraud"),
        lambda: models.get_domain("fraud"),
        lambda: models.get_model_states("fraud", "v1"),
        lambda: models.download("out", "fraud"),
    ):
        with pytest.raises(DomainNotFoundException):
            call()
    models.create_model_state("production")
    with pytest.raises(ModelNotFoundException):
        models.set_model_state("churn", "nope", "production")
    assert not models.model_exists("fraud", "v1")


def test_invalid_arguments_are_clear_errors(models: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model=<value>"):
        models.upload("churn")
    with pytest.raises(ConfigError, match="explainer="):
        models.upload("churn", model=1, explainer=object())
    with pytest.raises(ConfigError, match="extra_metadata cannot be stored as JSON"):
        models.upload("churn", model=1, extra_metadata={"when": object()})
    with pytest.raises(ConfigError, match="must be a dict"):
        models.upload("churn", model=1, extra_metadata=[1, 2])  # type: ignore[arg-type]
    for domain in ("", "versions", "domains", "a/b", ".hidden"):
        with pytest.raises(ConfigError, match="domain"):
            models.upload(domain, model=1)
    assert all_keys(models) == []


def test_an_unpicklable_model_is_a_clear_error_and_nothing_is_written(
    models: ModelStore,
) -> None:
    import threading

    with pytest.raises(ModelSaveError, match="Make it picklable") as caught:
        models.upload("churn", model={"lock": threading.Lock()})
    assert isinstance(caught.value, FerryError) and "_thread.lock" in str(caught.value)
    with pytest.raises(ModelSaveError):
        models.upload("churn", model=lambda x: x)
    assert all_keys(models) == []


class FailingStore(RecordingStore):
    """Injected like any store: the write of the first key with ``fail_on`` in it fails."""

    def __init__(self, inner: object, fail_on: str) -> None:
        super().__init__(inner)  # type: ignore[arg-type]
        self.fail_on = fail_on

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        if self.fail_on in key:
            raise EndpointError("Could not connect (injected).", "Try again.")
        return super().put(key, data, mode=mode, metadata=metadata)


@pytest.mark.parametrize("fail_on", ["/versions/", "/domains/"])
def test_a_failed_upload_leaves_nothing_behind(models: ModelStore, fail_on: str) -> None:
    models.upload("churn", "v1", model=1)
    before = all_keys(models)
    failing = ModelStore(store=FailingStore(models.store, fail_on))
    with pytest.raises(EndpointError):
        failing.upload("churn", model=forest())
    assert all_keys(models) == before
    assert models.list_models("churn") == ["v1"]


def test_uploads_write_archive_then_record_then_latest(models: ModelStore) -> None:
    recorder = RecordingStore(models.store)
    ModelStore(store=recorder).upload("churn", model=forest())
    assert recorder.calls == ["put_file", "put", "put"]  # no reads: a new id needs no check


def test_two_uploads_never_claim_one_id(models: ModelStore) -> None:
    """The record is written create-only: a racing upload of the same id loses cleanly."""
    models.upload("churn", "v1", model=1, extra_metadata={"first": True})
    # Only the record may stop the second upload (its archive key could differ in time).
    models.store.delete([k for k in all_keys(models) if k.endswith(".tar.gz")])

    class Racing(RecordingStore):
        def exists(self, key: str) -> bool:  # the first upload had not finished yet
            return False

    with pytest.raises(ModelExistsException):
        ModelStore(store=Racing(models.store)).upload("churn", "v1", model=2)
    assert models.get_model_info("churn", "v1")["extra"] == {"first": True}
    assert not [k for k in all_keys(models) if k.endswith(".tar.gz")]  # its archive is gone


def test_stores_opened_by_url_are_the_same_store(tmp_path: Path) -> None:
    ModelStore.from_file_system(tmp_path, create_directory=False).upload("churn", "v1", model=1)
    assert ModelStore(str(tmp_path)).load("churn", "v1") == 1
    assert ModelStore(store=open_store(str(tmp_path))).list_models("churn") == ["v1"]


def test_a_store_still_works_after_its_folder_moved(tmp_path: Path) -> None:
    ModelStore.from_file_system(tmp_path / "a", create_directory=True).upload(
        "churn", "v1", model=1
    )
    (tmp_path / "a").rename(tmp_path / "b")
    assert ModelStore.from_file_system(tmp_path / "b").load("churn", "v1") == 1


def test_archives_are_gzip_and_compresslevel_shrinks_them(tmp_path: Path) -> None:
    sizes = []
    for level in (0, 6):
        store = ModelStore.from_file_system(tmp_path / str(level), True, compresslevel=level)
        store.upload("churn", "v1", model=forest())
        [archive] = (tmp_path / str(level)).rglob("artifacts.tar.gz")
        with tarfile.open(archive, "r:gz") as opened:  # how modelstore opens it
            assert "model.joblib" in opened.getnames()
        sizes.append(archive.stat().st_size)
    assert sizes[1] < sizes[0] / 2


def test_git_metadata_is_recorded_inside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", "git@host:team/churn.git"], cwd=repo, check=True
    )
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    models = ModelStore.from_file_system(tmp_path / "models", create_directory=True)
    meta = models.upload("d", model=1)
    assert meta["code"]["git"] == {
        "repository": "churn",
        "sha": head,
        "local_changes": False,
        "branch": "main",
    }
    monkeypatch.chdir(tmp_path)
    assert models.upload("d", model=1)["code"]["git"] is None


def test_file_system_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotFoundError, match="create_directory=True"):
        ModelStore.from_file_system(tmp_path / "absent")
    ModelStore.from_file_system(tmp_path / "absent", create_directory=True)
    assert (tmp_path / "absent").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        ModelStore.from_file_system(tmp_path / "file")
    with pytest.raises(ConfigError, match="MODEL_STORE_ROOT_PREFIX"):
        ModelStore.from_file_system()
    monkeypatch.setenv("MODEL_STORE_ROOT_PREFIX", str(tmp_path / "absent"))
    assert ModelStore.from_file_system().store.url.endswith("/absent")


def test_s3_setup_errors_say_what_to_fix(
    s3_server: LocalS3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="without s3://: 'my-bucket'"):
        ModelStore.from_aws_s3("s3://my-bucket")
    with pytest.raises(ConfigError, match="'eu-central-1'"):
        ModelStore.from_aws_s3("my-bucket", region="Frankfurt")
    with pytest.raises(ConfigError, match="MODEL_STORE_AWS_BUCKET"):
        ModelStore.from_aws_s3()
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


def test_s3_environment_variables_fill_in_as_in_modelstore(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_STORE_AWS_BUCKET", bucket)
    monkeypatch.setenv("MODEL_STORE_AWS_ROOT_PREFIX", "team")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    store = ModelStore.from_aws_s3(region="us-east-1")
    assert store.store.url == f"s3://{bucket}/team"


def test_s3_uploads_are_intelligent_tiering_and_sse_c_encrypted(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    import base64

    import boto3

    from ferry.errors import EncryptionError

    key = base64.b64encode(bytes(range(32))).decode()
    where = {"region": "us-east-1", "endpoint_url": s3_server.url}
    store = ModelStore.from_aws_s3(bucket, root_prefix="team", sse_c_key=key, **where)
    meta = store.upload("churn", "v1", model=forest())
    assert store.load("churn", "v1").n_estimators == 5
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=s3_server.url)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(range(32))}
    head = client.head_object(Bucket=bucket, Key=meta["storage"]["prefix"], **sse_c)
    assert head["StorageClass"] == "INTELLIGENT_TIERING"
    assert meta["storage"] == {
        "type": "aws:s3",
        "root": None,
        "path": None,
        "bucket": bucket,
        "prefix": meta["storage"]["prefix"],
        "container": None,
    }
    assert meta["storage"]["prefix"].startswith("team/operatorai-model-store/churn/")
    with pytest.raises(EncryptionError):
        ModelStore.from_aws_s3(bucket, root_prefix="team", **where).load("churn", "v1")
