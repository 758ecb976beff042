"""The Rubicon API on memory, a local folder and S3 (over HTTP), with rubicon-ml's errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from ferry import Rubicon, RubiconException
from ferry.devserver import LocalS3Server


@pytest.fixture(params=["memory", "local", "s3"])
def rubicon(request: pytest.FixtureRequest, tmp_path: Path) -> Rubicon:
    if request.param == "memory":  # memory roots live for the process: one per test
        return Rubicon(persistence="memory", root_dir=str(tmp_path))
    if request.param == "local":
        return Rubicon(persistence="filesystem", root_dir=str(tmp_path / "root"))
    server: LocalS3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("dev_credentials")
    bucket = request.getfixturevalue("bucket")
    return Rubicon(
        persistence="filesystem",
        root_dir=f"s3://{bucket}/rubicon-root",
        endpoint_url=server.url,
        region="us-east-1",
    )


def test_projects_are_created_found_and_unique(rubicon: Rubicon) -> None:
    project = rubicon.create_project("Example Project", description="demo")
    assert rubicon.get_project("Example Project").id == project.id
    assert rubicon.get_project(id=project.id).name == "Example Project"
    assert [p.name for p in rubicon.projects()] == ["Example Project"]
    with pytest.raises(RubiconException, match="A project with name 'example  PROJECT!' already"):
        rubicon.create_project("example  PROJECT!")
    with pytest.raises(RubiconException, match="No project with name 'x' found."):
        rubicon.get_project("x")
    assert rubicon.get_or_create_project("Example Project").id == project.id
    assert rubicon.get_or_create_project("Other").name == "Other"


def test_experiments_log_and_read_back_everything(rubicon: Rubicon) -> None:
    project = rubicon.create_project("p")
    experiment = project.log_experiment(
        "one",
        description="first",
        model_name="rf",
        branch_name="main",
        commit_hash="abc",
        training_metadata=[("s3://b/train.parquet", "SELECT *")],
        tags=["rf", "stage:dev"],
        comments=["hello"],
    )
    experiment.log_metric("accuracy", 0.93)
    experiment.log_metric("Log Loss", 0.21, directionality="loss", tags=["loss"])
    experiment.log_parameter("n_estimators", 100)
    experiment.log_parameter("layers", [64, 32])
    experiment.log_feature("age", importance=0.25)
    with pytest.raises(RubiconException, match="A metric with name 'accuracy' already exists."):
        experiment.log_metric("accuracy", 0.5)
    with pytest.raises(ValueError, match="directionality"):
        experiment.log_metric("x", 1, directionality="up")

    again = rubicon.get_project("p").experiment(id=experiment.id)
    assert (again.name, again.model_name, again.branch_name, again.commit_hash) == (
        "one",
        "rf",
        "main",
        "abc",
    )
    assert again.training_metadata == ("s3://b/train.parquet", "SELECT *")
    assert again.tags["stage"] == "dev" and again.comments == ["hello"]
    assert {m.name: m.value for m in again.metrics()} == {"accuracy": 0.93, "Log Loss": 0.21}
    assert again.metric("Log Loss").directionality == "loss"
    assert again.metric(name="log loss").value == 0.21  # the same slug
    assert again.parameter("layers").value == [64, 32]
    assert again.feature("age").importance == 0.25
    assert [m.name for m in again.metrics(tags=["loss"])] == ["Log Loss"]
    with pytest.raises(RubiconException, match="No metric with name 'nope' found."):
        again.metric("nope")
    with pytest.raises(RubiconException, match="No experiment with id `nope` found."):
        project.experiment(id="nope")
    with pytest.raises(ValueError, match="`name` OR `id` required."):
        again.metric()


def test_experiments_filter_by_tags_and_name(rubicon: Rubicon) -> None:
    project = rubicon.create_project("p")
    a = project.log_experiment("a", tags=["baseline", "stage:dev"])
    project.log_experiment("b", tags=["tuned", "stage:prod"])
    project.log_experiment("a", tags=["tuned"])
    assert [e.name for e in project.experiments()] == ["a", "b", "a"]
    assert [e.name for e in project.experiments(tags=["baseline", "tuned"])] == ["a", "b", "a"]
    assert [e.id for e in project.experiments(tags=["baseline", "stage:dev"], qtype="and")] == [
        a.id
    ]
    assert [e.name for e in project.experiments(tags=["stage:*"])] == ["a", "b"]
    assert len(project.experiments(name="a")) == 2
    assert project.experiment(name="b").tags == ["tuned", "stage:prod"]  # as logged
    with pytest.raises(RubiconException, match="No experiment found with name 'zz'."):
        project.experiment(name="zz")


def test_tags_and_comments_change_after_logging(rubicon: Rubicon) -> None:
    experiment = rubicon.create_project("p").log_experiment("e", tags=["rf", "baseline"])
    experiment.add_tags(["added1", "added2"])
    experiment.remove_tags(["added1", "rf"])
    experiment.add_comments(["second", "third"])
    experiment.remove_comments(["second"])
    assert sorted(experiment.tags) == ["added2", "baseline"]
    fresh = rubicon.get_project("p").experiments()[0]
    assert sorted(fresh.tags) == ["added2", "baseline"]
    assert fresh.comments == ["third"]
    metric = fresh.log_metric("m", 1.0)
    metric.add_tags(["good"])
    assert rubicon.get_project("p").experiments()[0].metric("m").tags == ["good"]
    assert [e.name for e in rubicon.get_project("p").experiments(tags=["added2"])] == ["e"]


def test_metric_series_by_step(rubicon: Rubicon) -> None:
    experiment = rubicon.create_project("p").log_experiment("e")
    for step, loss in enumerate([0.9, 0.5, 0.3]):
        experiment.log_metric("loss", loss, directionality="loss", step=step)
    with pytest.raises(RubiconException, match="already has a value at step 1"):
        experiment.log_metric("loss", 0.1, step=1)
    assert [(p["step"], p["value"]) for p in experiment.metric_history("loss")] == [
        (0, 0.9),
        (1, 0.5),
        (2, 0.3),
    ]
    again = rubicon.get_project("p").experiment(id=experiment.id)
    assert again.metric("loss").value == 0.3
    assert len(again.metrics()) == 1


def test_artifacts_from_every_source(rubicon: Rubicon, tmp_path: Path) -> None:
    project = rubicon.create_project("p")
    experiment = project.log_experiment("e")
    (tmp_path / "model.bin").write_bytes(b"weights")
    folder = tmp_path / "folder" / "sub"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    by_bytes = experiment.log_artifact(data_bytes=b"raw", name="raw.bin", tags=["raw"])
    by_object = experiment.log_artifact(data_object={"k": [1, 2]}, name="obj.pkl")
    with open(tmp_path / "model.bin", "rb") as handle:
        experiment.log_artifact(data_file=handle, name="file.bin")
    by_path = experiment.log_artifact(data_path=tmp_path / "model.bin")
    by_dir = experiment.log_artifact(data_directory=tmp_path / "folder", name="folder.zip")
    project_artifact = project.log_artifact(data_bytes=b"p", name="project.bin")
    assert by_path.name == "model.bin"
    again = rubicon.get_project("p").experiment(id=experiment.id)
    assert again.artifact(name="raw.bin").get_data() == b"raw"
    assert again.artifact(id=by_object.id).get_data(deserialize="pickle") == {"k": [1, 2]}
    assert again.artifact(name="file.bin").get_data() == b"weights"
    assert pickle.loads(by_object.get_data()) == {"k": [1, 2]}
    out = by_dir.download(tmp_path / "out", unzip=True)
    assert (out / "sub" / "a.txt").read_text() == "A"
    assert by_bytes.download(tmp_path / "dl").read_bytes() == b"raw"
    assert [a.name for a in rubicon.get_project("p").artifacts()] == ["project.bin"]
    assert project_artifact.parent_id == project.id and by_bytes.parent_id == experiment.id
    experiment.delete_artifacts([by_bytes.id])
    assert "raw.bin" not in [a.name for a in again.artifacts()]
    with pytest.raises(RubiconException, match="must be provided"):
        experiment.log_artifact(name="nothing")
    with pytest.raises(RubiconException, match="`name` must be provided"):
        experiment.log_artifact(data_bytes=b"x")


def test_dataframes_round_trip_as_parquet(rubicon: Rubicon) -> None:
    project = rubicon.create_project("p")
    experiment = project.log_experiment("e")
    frame = pd.DataFrame([[5, 0, 0], [0, 5, 1]], columns=["x", "y", "z"])
    logged = experiment.log_dataframe(frame, name="confusion", tags=["eval"])
    project.log_dataframe(frame.set_index("x"), name="indexed")
    again = rubicon.get_project("p").experiment(id=experiment.id)
    pd.testing.assert_frame_equal(again.dataframe(name="confusion").get_data(), frame)
    assert again.dataframes(tags=["eval"])[0].id == logged.id
    pd.testing.assert_frame_equal(
        rubicon.get_project("p").dataframe(name="indexed").get_data(), frame.set_index("x")
    )
    experiment.delete_dataframes([logged.id])
    assert again.dataframes() == []
    with pytest.raises(RubiconException, match="pandas, polars or dask"):
        experiment.log_dataframe([[1, 2]])


def test_to_df_puts_experiments_side_by_side_newest_first(rubicon: Rubicon) -> None:
    project = rubicon.create_project("p")
    for i in range(3):
        experiment = project.log_experiment(f"run-{i}", model_name="rf", commit_hash=f"c{i % 2}")
        experiment.log_parameter("n_estimators", 10 * i)
        experiment.log_metric("accuracy", 0.5 + i / 10)
    frame = project.to_df()
    assert list(frame.columns) == [
        "id",
        "name",
        "description",
        "model_name",
        "commit_hash",
        "tags",
        "created_at",
        "n_estimators",
        "accuracy",
    ]
    assert list(frame["name"]) == ["run-2", "run-1", "run-0"]
    assert list(frame["n_estimators"]) == [20, 10, 0]
    assert set(project.to_df(group_by="commit_hash")) == {"c0", "c1"}


def test_deleting_experiments(rubicon: Rubicon) -> None:
    project = rubicon.create_project("p")
    keep, drop = project.log_experiment("keep"), project.log_experiment("drop")
    drop.log_metric("m", 1)
    project.delete_experiments([drop.id])
    assert [e.id for e in project.experiments()] == [keep.id]
