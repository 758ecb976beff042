"""Roots written by rubicon-ml read in ferry, and roots written by ferry read in rubicon-ml.

rubicon-ml 0.15.3 runs in a virtual environment of its own (installed once under the
tools folder); the scripts it runs are in ``rubicon_scripts/``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry import Rubicon
from ferry.devserver import ensure_tool
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


@pytest.fixture(scope="module")
def rubicon_python() -> Path:
    bin_dir = ensure_tool("rubicon-ml", ("rubicon-ml==0.15.3",), TOOLS)
    return bin_dir / "python"


def run_rubicon(python: Path, script: str, root: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [str(python), str(SCRIPTS / script), str(root)], capture_output=True, text=True, check=False
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
