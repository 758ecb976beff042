"""rubicon-ml's slugs and JSON, byte for byte (expected strings taken from files that
rubicon-ml 0.15.3 wrote)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from ferry.tracking.codec import TrainingMetadata, dumps, loads, slugify
from ferry.tracking.domain import Experiment, Metric, Project, to_record


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Example Project", "example-project"),
        ("example_project", "exampleproject"),
        ("n_estimators", "nestimators"),
        ("example-project", "exampleproject"),
        ("  a\tb\n c  ", "a-b-c"),
        ("A.B/C", "abc"),
        ("Log Loss", "log-loss"),
        ("MiXeD_Case-Name 2", "mixedcasename-2"),
        ("café—bar", "café—bar"),
        ("x\u00a0y", "x-y"),
    ],
)
def test_slugify_matches_rubicon(name: str, slug: str) -> None:
    assert slugify(name) == slug


MOMENT = datetime(2026, 11, 22, 11, 35, 56, 522354, tzinfo=UTC)


def test_project_metadata_is_byte_identical() -> None:
    project = Project(
        name="Example Project",
        created_at=MOMENT,
        description="An example project",
        github_url="https://github.com/example/repo",
        id="a99c8528-ee05-47ee-a726-7e856c10957c",
        training_metadata=TrainingMetadata([("s3://bucket/a.parquet", "SELECT * FROM a")]),
    )
    assert dumps(to_record(project)) == (
        '{"name": "Example Project", "created_at": {"_type": "datetime", "value": '
        '"2026-11-22T11:35:56.522354+00:00"}, "description": "An example project", '
        '"github_url": "https://github.com/example/repo", "id": '
        '"a99c8528-ee05-47ee-a726-7e856c10957c", "training_metadata": {"_type": '
        '"training_metadata", "value": [["s3://bucket/a.parquet", "SELECT * FROM a"]]}}'
    )


def test_experiment_and_metric_defaults_are_byte_identical() -> None:
    experiment = Experiment(
        project_name="Example Project", created_at=MOMENT, id="05f0bf87-9710-4523-ab40-a202ea6de2df"
    )
    assert dumps(to_record(experiment)) == (
        '{"project_name": "Example Project", "branch_name": null, "comments": [], '
        '"commit_hash": null, "created_at": {"_type": "datetime", "value": '
        '"2026-11-22T11:35:56.522354+00:00"}, "description": null, "id": '
        '"05f0bf87-9710-4523-ab40-a202ea6de2df", "model_name": null, "name": null, '
        '"tags": [], "training_metadata": null}'
    )
    metric = Metric(
        name="Log Loss",
        value=0.21,
        comments=["lower is better"],
        created_at=MOMENT,
        description="log loss",
        directionality="loss",
        id="d8e561c5-4cac-4ba3-b408-9e3ba546d3ca",
        tags=["loss-metric"],
    )
    assert dumps(to_record(metric)) == (
        '{"name": "Log Loss", "value": 0.21, "comments": ["lower is better"], "created_at": '
        '{"_type": "datetime", "value": "2026-11-22T11:35:56.522354+00:00"}, "description": '
        '"log loss", "directionality": "loss", "id": "d8e561c5-4cac-4ba3-b408-9e3ba546d3ca", '
        '"tags": ["loss-metric"]}'
    )


def test_special_values_encode_like_rubicon_and_round_trip() -> None:
    assert dumps(np.int64(7)) == (
        '{"_type": "numpy", "_dtype": "<i8", "_shape": [], "value": "BwAAAAAAAAA="}'
    )
    assert dumps(np.array([[1, 2], [3, 4]], dtype=np.int32)) == (
        '{"_type": "numpy", "_dtype": "<i4", "_shape": [2, 2], "value": "AQAAAAIAAAADAAAABAAAAA=="}'
    )
    assert dumps({"d": date(2024, 1, 2), "s": {1}, "nan": float("nan")}) == (
        '{"d": {"_type": "date", "value": "2024-01-02"}, "s": {"_type": "set", "value": [1]}, '
        '"nan": NaN}'
    )
    assert dumps("h\u00e9llo") == '"h\\u00e9llo"'
    value = {"when": MOMENT, "arr": np.array([1.5, 2.5]), "tags": {"a"}, "n": np.int64(3)}
    back = loads(dumps(value))
    assert back["when"] == MOMENT and back["tags"] == {"a"} and back["n"] == 3
    assert back["arr"].tolist() == [1.5, 2.5]
    assert loads('{"_type": "datetime", "value": "2024-01-02T03:04:05"}').tzinfo is not None


def test_annotation_names_sort_in_the_order_they_were_made() -> None:
    """S3 keeps mtimes to the second; within one, names must give the order (add, then
    remove, must not be applied the other way round)."""
    from ferry.tracking.repository import ordered_uuid

    names = [ordered_uuid() for _ in range(1000)]
    assert names == sorted(names) and len(set(names)) == 1000
    assert all(len(n) == 36 for n in names)  # still a UUID, as rubicon-ml's tags_<uuid>.json
