"""Metric series in chunks: a series reads back in a few GETs instead of one per step,
and every step is still there, one object each, for readers that do not know chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry import Rubicon
from ferry.storage import open_store
from ferry.storage.base import Store
from ferry.storage.s3 import S3Options
from ferry.tracking.series import CHUNK_STEPS, is_chunk
from tests.support.recording import RecordingStore


@pytest.fixture
def root(bucket: str, s3_options: S3Options) -> Store:
    return open_store(f"s3://{bucket}/root", s3_options=s3_options)


def rubicon_over(store: Store, **kwargs: Any) -> Rubicon:
    return Rubicon(stores=[store], cache=False, **kwargs)


def log_series(rubicon: Rubicon, steps: range, name: str = "loss") -> str:
    experiment = rubicon.get_or_create_project("p").log_experiment("run")
    for step in steps:
        experiment.log_metric(name, 1 / (step + 1), step=step)
    return experiment.id


def history_keys(store: Store, experiment_id: str) -> list[str]:
    return [info.key for info in store.list(f"p/history/{experiment_id}/loss/")]


def test_a_closed_client_leaves_chunks_and_every_step(root: Store) -> None:
    steps = range(2 * CHUNK_STEPS + 50)
    with rubicon_over(root) as writer:
        experiment_id = log_series(writer, steps)
    keys = history_keys(root, experiment_id)
    assert len([k for k in keys if not is_chunk(k)]) == len(steps)  # each step, as before
    assert len([k for k in keys if is_chunk(k)]) == 3  # 100 + 100, and the last 50 at close

    reader = RecordingStore(root)
    history = rubicon_over(reader).get_project("p").experiments()[0].metric_history("loss")
    assert [point["step"] for point in history] == list(steps)
    assert [point["value"] for point in history] == [1 / (s + 1) for s in steps]
    reader.take()
    rubicon_over(reader).get_project("p").experiments()[0].metric_history("loss")
    assert reader.take().count("get") <= 3 + 2  # the chunks (and the project, experiment)


def test_steps_not_yet_in_a_chunk_are_read_one_by_one(root: Store) -> None:
    writer = rubicon_over(root)  # not closed: the last 30 steps are only single objects
    experiment_id = log_series(writer, range(CHUNK_STEPS + 30))
    assert len([k for k in history_keys(root, experiment_id) if is_chunk(k)]) == 1
    experiment = rubicon_over(root).get_project("p").experiments()[0]
    assert [p["step"] for p in experiment.metric_history("loss")] == list(range(130))


def test_two_clients_logging_one_series_are_merged_by_step(root: Store) -> None:
    first, second = rubicon_over(root), rubicon_over(root)
    experiment = first.get_or_create_project("p").log_experiment("run")
    same = second.get_project("p").experiment(id=experiment.id)
    for step in range(0, 240, 2):
        experiment.log_metric("loss", step, step=step)
        same.log_metric("loss", step + 1, step=step + 1)
    first.close()  # second never closes: its last steps stay single objects
    history = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
    assert [(p["step"], p["value"]) for p in history] == [(s, s) for s in range(240)]


def test_without_its_chunks_a_series_reads_the_same(root: Store) -> None:
    with rubicon_over(root) as writer:
        experiment_id = log_series(writer, range(CHUNK_STEPS + 7))
    expected = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
    root.delete([k for k in history_keys(root, experiment_id) if is_chunk(k)])
    again = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
    assert again == expected and len(again) == CHUNK_STEPS + 7


def test_deleting_the_experiment_deletes_its_chunks(root: Store, tmp_path: Path) -> None:
    with rubicon_over(root) as writer:
        experiment_id = log_series(writer, range(CHUNK_STEPS))
        writer.get_project("p").delete_experiments([experiment_id])
    assert list(root.list("p/history/")) == []
