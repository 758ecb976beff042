"""Several backends at once (seed 001): the same tree in each, reads from the first that
can answer, one error listing every backend's failure when none can."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ferry import Rubicon, RubiconException
from ferry.devserver import LocalS3Server


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def test_writes_go_to_every_backend_in_rubicon_layout(tmp_path: Path) -> None:
    rb = Rubicon(
        composite_config=[
            {"persistence": "filesystem", "root_dir": str(tmp_path / "rootA")},
            {"persistence": "filesystem", "root_dir": str(tmp_path / "rootB")},
        ]
    )
    project = rb.create_project("example_project")
    experiment = project.log_experiment("example_experiment")
    artifact = experiment.log_artifact(data_bytes=b"bytes", name="example_artifact")
    dataframe = experiment.log_dataframe(
        pd.DataFrame([[5, 0, 0], [0, 5, 1], [0, 0, 4]], columns=["x", "y", "z"])
    )
    experiment.log_feature("year")
    experiment.log_metric("accuracy", 0.8)
    experiment.log_parameter("n_estimators")
    exp = f"exampleproject/experiments/{experiment.id}"
    expected = {
        "exampleproject",
        "exampleproject/experiments",
        exp,
        f"{exp}/artifacts",
        f"{exp}/artifacts/{artifact.id}",
        f"{exp}/dataframes",
        f"{exp}/dataframes/{dataframe.id}",
        f"{exp}/dataframes/{dataframe.id}/data",
        f"{exp}/features",
        f"{exp}/features/year",
        f"{exp}/metrics",
        f"{exp}/metrics/accuracy",
        f"{exp}/parameters",
        f"{exp}/parameters/nestimators",
    }
    assert tree(tmp_path / "rootA") == tree(tmp_path / "rootB") == expected
    for read in (
        rb.projects,
        project.experiments,
        experiment.artifacts,
        experiment.dataframes,
        experiment.features,
        experiment.metrics,
        experiment.parameters,
    ):
        assert len(read()) == 1


def test_reads_fall_through_to_a_backend_that_answers(
    tmp_path: Path, s3_server: LocalS3Server, dev_credentials: None
) -> None:
    good = str(tmp_path / "good")
    Rubicon(root_dir=good).create_project("p").log_experiment("e").log_metric("m", 1.0)
    rb = Rubicon(
        composite_config=[
            {"persistence": "filesystem", "root_dir": "s3://bucket-not-there/root"},
            {"persistence": "filesystem", "root_dir": good},
        ],
        endpoint_url=s3_server.url,
        region="us-east-1",
        max_attempts=1,
    )
    project = rb.get_project("p")
    assert project.experiments()[0].metric("m").value == 1.0


def test_a_failing_backend_is_named_and_the_others_still_get_the_write(
    tmp_path: Path, s3_server: LocalS3Server, dev_credentials: None
) -> None:
    good = tmp_path / "good"
    rb = Rubicon(
        composite_config=[
            {"persistence": "filesystem", "root_dir": str(good)},
            {"persistence": "filesystem", "root_dir": "s3://bucket-not-there/root"},
        ],
        endpoint_url=s3_server.url,
        region="us-east-1",
        max_attempts=1,
    )
    with pytest.raises(RubiconException) as caught:
        rb.create_project("p")
    assert "s3://bucket-not-there/root" in str(caught.value)
    assert "1 of 2 backends written" in str(caught.value)
    assert Rubicon(root_dir=str(good)).get_project("p").name == "p"


def test_when_no_backend_can_answer_each_failure_is_listed(tmp_path: Path) -> None:
    rb = Rubicon(
        composite_config=[
            {"persistence": "filesystem", "root_dir": str(tmp_path / "a")},
            {"persistence": "memory"},
        ]
    )
    with pytest.raises(RubiconException) as caught:
        rb.get_project("missing")
    message = str(caught.value)
    assert message.startswith("all configured storage backends failed")  # rubicon-ml's words
    assert "No project with name 'missing' found." in message
    assert str(tmp_path / "a") in message and "memory:///root" in message


def test_a_backend_may_carry_its_own_storage_options(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    rb = Rubicon(
        composite_config=[
            {"persistence": "filesystem", "root_dir": str(tmp_path / "local")},
            {
                "persistence": "filesystem",
                "root_dir": f"s3://{bucket}/root",
                "key": "test",
                "secret": "test",
                "client_kwargs": {"endpoint_url": s3_server.url, "region_name": "us-east-1"},
            },
        ]
    )
    rb.create_project("p").log_experiment("e")
    s3_only = Rubicon(
        root_dir=f"s3://{bucket}/root", key="test", secret="test", endpoint_url=s3_server.url
    )
    assert [e.name for e in s3_only.get_project("p").experiments()] == ["e"]
