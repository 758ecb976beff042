"""Roots written by rubicon-ml read in ferry, and roots written by ferry read in rubicon-ml;
the same script run with each library sees the same things.

rubicon-ml 0.15.3 runs in a virtual environment of its own (installed once under the
tools folder, with its s3 and jsonpath extras); the scripts it runs are in
``rubicon_scripts/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry import Rubicon
from ferry.devserver import LocalS3Server, ensure_tool
from ferry.tracking.codec import dumps, loads
from ferry.tracking.domain import (
    Artifact,
    Dataframe,
    Experiment,
    Feature,
    Metric,
    Parameter,
    Project,
    from_record,
    to_record,
)
from tests.conftest import TOOLS

SCRIPTS = Path(__file__).parent / "rubicon_scripts"
RUBICON_ML = ("rubicon-ml[s3,jsonpath]==0.15.3",)  # the same venv as bench/tracking.py's


@pytest.fixture(scope="session")
def rubicon_python() -> Path:
    bin_dir = ensure_tool("rubicon-ml-s3", RUBICON_ML, TOOLS)
    return bin_dir / "python"


def run_rubicon(python: Path, script: str, *args: object) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [str(python), str(SCRIPTS / script), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_root_written_by_rubicon_reads_in_ferry(rubicon_python: Path, tmp_path: Path) -> None:
    root = tmp_path / "rubicon-root"
    ids = run_rubicon(rubicon_python, "write_root.py", root)
    project = Rubicon(root_dir=str(root)).get_project("Example Project")
    assert project.id == ids["project_id"]
    assert project.training_metadata == ("s3://bucket/a.parquet", "SELECT * FROM a")
    one = project.experiment(id=ids["one"])
    assert (one.name, one.model_name, one.commit_hash) == (
        "experiment one",
        "RandomForest",
        "abc123",
    )
    assert sorted(one.tags) == ["added", "baseline"]
    assert sorted(one.comments) == ["initial comment", "second comment"]
    assert {m.name: m.value for m in one.metrics()} == {"accuracy": 0.93, "Log Loss": 0.21}
    assert one.metric("Log Loss").directionality == "loss"
    assert one.metric("accuracy").tags == ["score"]
    assert one.parameter("n_estimators").value == 100
    assert one.parameter("np_int").value == np.int64(7)
    assert one.feature("credit score").importance == 0.25
    assert one.artifact(name="raw.bin").get_data() == b"raw bytes"
    assert one.artifact(name="obj.pkl").get_data(deserialize="pickle") == {"k": [1, 2]}
    pd.testing.assert_frame_equal(
        one.dataframe(name="frame").get_data(),
        pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}),
        check_dtype=False,
    )
    assert [a.name for a in project.artifacts()] == ["project.bin"]
    assert list(project.to_df()["name"]) == ["experiment two", "experiment one"]
    assert [e.name for e in project.experiments(tags=["base*"])] == ["experiment one"]


def test_every_metadata_file_re_encodes_byte_for_byte(rubicon_python: Path, tmp_path: Path) -> None:
    root = tmp_path / "rubicon-root"
    run_rubicon(rubicon_python, "write_root.py", root)
    kinds = {
        "experiments": Experiment,
        "metrics": Metric,
        "parameters": Parameter,
        "features": Feature,
        "artifacts": Artifact,
        "dataframes": Dataframe,
    }
    checked = 0
    for path in root.rglob("metadata.json"):
        parent = path.parent.parent.name
        kind = kinds.get(parent, Project)
        original = path.read_text()
        assert dumps(to_record(from_record(kind, loads(original)))) == original, path
        checked += 1
    assert checked == 14  # 1 project, 2 experiments, 3 metrics, 3 parameters, 1 feature,
    #                       3 artifacts, 1 dataframe


def test_a_root_written_by_ferry_reads_in_rubicon(rubicon_python: Path, tmp_path: Path) -> None:
    root = tmp_path / "ferry-root"
    project = Rubicon(root_dir=str(root)).create_project("Example Project")
    one = project.log_experiment(
        "experiment one",
        model_name="RandomForest",
        tags=["baseline", "rf"],
        comments=["initial comment"],
    )
    one.log_metric("accuracy", 0.93, tags=["score"])
    one.log_metric("Log Loss", 0.21, directionality="loss")
    for step, value in enumerate([0.9, 0.4]):
        one.log_metric("loss", value, directionality="loss", step=step)
    one.log_parameter("n_estimators", 100)
    one.log_parameter("np_float", np.float32(0.5))
    one.log_feature("credit score", importance=0.25)
    one.log_artifact(data_bytes=b"raw bytes", name="raw.bin")
    one.log_dataframe(pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}), name="frame")
    one.add_tags(["added"])
    one.remove_tags(["rf"])
    one.add_comments(["second comment"])
    two = project.log_experiment("experiment two")
    project.log_artifact(data_bytes=b"project bytes", name="project.bin")

    seen = run_rubicon(rubicon_python, "read_root.py", root)
    assert seen["projects"] == ["Example Project"]
    first = seen["experiments"][one.id]
    assert first["tags"] == ["added", "baseline"]
    assert first["comments"] == ["initial comment", "second comment"]
    assert first["metrics"] == {
        "accuracy": [0.93, "score", ["score"]],
        "Log Loss": [0.21, "loss", []],
        "loss": [0.4, "loss", []],
    }
    assert first["parameters"]["n_estimators"] == 100
    assert float(first["parameters"]["np_float"]) == 0.5
    assert first["features"] == {"credit score": 0.25}
    assert first["artifacts"] == {"raw.bin": "raw bytes"}
    assert first["dataframes"] == {"frame": {"x": [1, 2], "y": ["a", "b"]}}
    assert seen["experiments"][two.id]["name"] == "experiment two"
    assert seen["project_artifacts"] == {"project.bin": "project bytes"}
    assert seen["to_df_names"] == ["experiment two", "experiment one"]
    assert seen["by_tag"] == ["experiment one"]


def write_behaviour_root(root: Path, scratch: Path) -> None:
    """A root for behaviour.py, written by ferry."""
    rb = Rubicon(root_dir=str(root))
    project = rb.create_project(
        "Example Project", description="d", training_metadata=[("s3://b/t.parquet", "SELECT 1")]
    )
    parent = project.log_experiment("parent run", tags=["a", "b"], model_name="rf")
    child = project.log_experiment("child run", training_metadata=("s3://b/c.csv",))
    project.log_experiment("dup")
    project.log_experiment("dup")
    parent.add_child_experiment(child)
    parent.log_metric("accuracy", 0.9, tags=["good"])
    parent.log_metric("loss", 0.2, directionality="loss")
    parent.log_parameter("optimizer", "adam")
    parent.log_parameter("depth", 5)
    parent.log_feature("age", importance=0.5)
    parent.log_artifact(data_object={"k": [1, 2]}, name="obj.pkl", description="pickled")
    folder = scratch / "to-zip"
    folder.mkdir()
    (folder / "a.txt").write_text("A")
    (folder / "b.txt").write_text("B")
    parent.log_artifact(data_directory=folder, name="folder.zip")
    parent.log_artifact(data_bytes=b"1", name="twice")
    parent.log_artifact(data_bytes=b"2", name="twice")
    frame = pd.DataFrame({"x": [1, 2]})
    parent.log_dataframe(frame, name="exp-frame")
    project.log_dataframe(frame, name="proj-frame")
    stray = root / "example-project" / "experiments" / ".ipynb_checkpoints"
    stray.mkdir()
    (stray / "notes-checkpoint.json").write_text("{}")


def test_the_same_script_sees_the_same_things_in_both(rubicon_python: Path, tmp_path: Path) -> None:
    """str(), child experiments, 'Multiple ... found' and stray-folder warnings, TagContainer
    slices, recursive dataframes, get_project_as_df, deprecations, temporary_download,
    RubiconJSON queries, failure modes, shared memory roots, composite errors."""
    root = tmp_path / "root"
    write_behaviour_root(root, tmp_path)
    (tmp_path / "rubicon").mkdir()
    (tmp_path / "ferry").mkdir()
    theirs = run_rubicon(rubicon_python, "behaviour.py", "rubicon", root, tmp_path / "rubicon")
    ours = run_rubicon(Path(sys.executable), "behaviour.py", "ferry", root, tmp_path / "ferry")
    assert theirs["experiments_warnings"] == [
        f"UserWarning: {root}/example-project/experiments/.ipynb_checkpoints/metadata.json "
        "not found. Was this file unintentionally created?"
    ]
    assert theirs["multiple"][-1] == (
        "UserWarning: Multiple experiments found with name 'dup'. Returning most recently logged."
    )
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_archives_made_by_ferry_unpack_in_rubicon(rubicon_python: Path, tmp_path: Path) -> None:
    project = Rubicon(root_dir=str(tmp_path / "ferry")).create_project("Archived")
    logged = {}
    for i in range(2):
        experiment = project.log_experiment(f"run-{i}")
        experiment.log_metric("accuracy", i / 10)
        for step, loss in enumerate([0.5, 0.25]):
            experiment.log_metric("loss", loss, step=step)
        experiment.log_artifact(data_bytes=f"weights {i}".encode(), name="model.bin")
        logged[experiment.id] = {
            "name": f"run-{i}",
            "metrics": {"accuracy": i / 10, "loss": 0.25},
            "artifacts": {"model.bin": f"weights {i}"},
        }
    remote = Rubicon(root_dir=str(tmp_path / "remote"))
    path = project.archive(remote_rubicon=remote)
    assert path.startswith(str(tmp_path / "remote" / "archived" / "archives" / "archive-"))
    assert Path(path).is_file()
    seen = run_rubicon(
        rubicon_python, "archives.py", "read", tmp_path / "rubicon", tmp_path / "remote"
    )
    assert seen == logged


def test_archives_made_by_rubicon_unpack_in_ferry(rubicon_python: Path, tmp_path: Path) -> None:
    made = run_rubicon(
        rubicon_python, "archives.py", "write", tmp_path / "theirs", tmp_path / "remote"
    )
    assert made["path"].startswith(str(tmp_path / "remote"))
    ours = Rubicon(root_dir=str(tmp_path / "ours")).create_project("Archived")
    added = ours.experiments_from_archive(Rubicon(root_dir=str(tmp_path / "remote")))
    assert added == 2
    restored = {e.id: e for e in ours.experiments()}
    assert sorted(restored) == sorted(made["ids"])
    for i, experiment_id in enumerate(made["ids"]):
        experiment = restored[experiment_id]
        assert (experiment.name, experiment.tags) == (f"run-{i}", ["archived"])
        assert experiment.metric("accuracy").value == i / 10
        assert experiment.artifact(name="model.bin").get_data() == f"weights {i}".encode()


def test_rubicon_on_s3_with_s3fs_options_and_a_record_it_rewrites(
    rubicon_python: Path, s3_server: LocalS3Server, bucket: str, tmp_path: Path
) -> None:
    """The same storage options in both; ferry's record cache sees rubicon-ml's rewrite."""
    root = f"s3://{bucket}/root"
    written = run_rubicon(rubicon_python, "s3_root.py", "write", root, s3_server.url)
    options = {
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": s3_server.url, "region_name": "us-east-1"},
        "cache_dir": str(tmp_path / "cache"),
    }
    rb = Rubicon(persistence="filesystem", root_dir=root, **options)
    (experiment,) = rb.get_project("On S3").experiments()
    assert (experiment.id, experiment.description, experiment.tags) == (
        written["id"],
        "as logged",
        ["s3"],
    )
    assert experiment.metric("accuracy").value == 0.75
    assert experiment.parameters()[0].value == 3
    run_rubicon(rubicon_python, "s3_root.py", "rewrite", root, s3_server.url)
    (again,) = rb.get_project("On S3").experiments()
    assert again.description == "rewritten by rubicon-ml"
    assert Rubicon(root_dir=root, **options).get_project_as_df("On S3")["description"][0] == (
        "rewritten by rubicon-ml"
    )
