"""Metric series in chunks: a series reads back in a few GETs instead of one per step, a
closed one without listing its steps, and every step is still there, one object each, for
readers that do not know chunks."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from ferry import Rubicon
from ferry.errors import EndpointError, FerryError
from ferry.storage import open_store
from ferry.storage.base import Store
from ferry.storage.s3 import S3Options
from ferry.tracking.series import CHUNK_STEPS, is_chunk, sealed
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
    # the writer's announcement; 100 + 100, and the last 50 at close
    assert len([k for k in keys if is_chunk(k)]) == 1 + 3

    reader = RecordingStore(root)
    history = rubicon_over(reader).get_project("p").experiments()[0].metric_history("loss")
    assert [point["step"] for point in history] == list(steps)
    assert [point["value"] for point in history] == [1 / (s + 1) for s in steps]
    series = f"p/history/{experiment_id}/loss/"
    assert series + "chunks/" in reader.listed and series not in reader.listed  # no step listed
    reader.take()
    rubicon_over(reader).get_project("p").experiments()[0].metric_history("loss")
    assert reader.take().count("get") <= 4 + 2  # the chunks (and the project, experiment)


def test_steps_not_yet_in_a_chunk_are_read_one_by_one(root: Store) -> None:
    writer = rubicon_over(root)  # not closed: the last 30 steps are only single objects
    experiment_id = log_series(writer, range(CHUNK_STEPS + 30))
    assert len([k for k in history_keys(root, experiment_id) if is_chunk(k)]) == 1 + 1
    reader = RecordingStore(root)
    experiment = rubicon_over(reader).get_project("p").experiments()[0]
    assert [p["step"] for p in experiment.metric_history("loss")] == list(range(130))
    assert f"p/history/{experiment_id}/loss/" in reader.listed  # not whole: steps listed


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


def test_a_missing_chunk_makes_the_reader_list_the_steps(root: Store) -> None:
    with rubicon_over(root) as writer:
        experiment_id = log_series(writer, range(3 * CHUNK_STEPS + 5))
    second = sorted(k for k in history_keys(root, experiment_id) if "-000001" in k)
    root.delete(second)  # as if that chunk had failed to be written: steps 100-199
    history = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
    assert [p["step"] for p in history] == list(range(3 * CHUNK_STEPS + 5))


def test_steps_logged_after_close_are_read_before_and_after_the_next_close(
    root: Store,
) -> None:
    client = rubicon_over(root)
    experiment = client.get_or_create_project("p").log_experiment("run")
    for step in range(50):
        experiment.log_metric("loss", step, step=step)
    client.close()
    for step in range(50, 60):  # the same client again: a new writer of the series
        experiment.log_metric("loss", step, step=step)

    def steps() -> list[int]:
        found = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
        return [p["step"] for p in found]

    assert steps() == list(range(60))  # the new writer has no end yet: steps listed
    client.close()
    reader = RecordingStore(root)
    found = rubicon_over(reader).get_project("p").experiments()[0].metric_history("loss")
    assert [p["step"] for p in found] == list(range(60))
    assert f"p/history/{experiment.id}/loss/" not in reader.listed  # both writers ended


def test_a_series_written_before_chunks_had_a_folder_is_read_whole(root: Store) -> None:
    # ferry's first chunks sat beside the steps, unnumbered: read by listing the series
    with rubicon_over(root) as writer:
        experiment_id = log_series(writer, range(5))
    series = f"p/history/{experiment_id}/loss"
    root.delete([k for k in history_keys(root, experiment_id) if is_chunk(k)])
    old = [{"step": s, "value": 1 / (s + 1), "timestamp": None} for s in range(3)]
    root.put(f"{series}/chunk-{0:020d}-{2:020d}-0a1b2c3d.json", json.dumps(old).encode())
    history = rubicon_over(root).get_project("p").experiments()[0].metric_history("loss")
    assert [p["step"] for p in history] == list(range(5))


W, V = "0123456789abcdef", "fedcba9876543210"


def chunk(writer: str, seq: int, end: bool = False) -> str:
    return f"chunk-{0:020d}-{99:020d}-{writer}-{seq:06d}{'-end' if end else ''}.json"


@pytest.mark.parametrize(
    ("names", "whole"),
    [
        ([f"chunk-writer-{W}.json", chunk(W, 0, end=True)], True),
        ([f"chunk-writer-{W}.json", chunk(W, 0), chunk(W, 1), chunk(W, 2, end=True)], True),
        ([f"chunk-writer-{W}.json", chunk(W, 0), chunk(W, 2, end=True)], False),  # a gap
        ([f"chunk-writer-{W}.json", chunk(W, 0), chunk(W, 1)], False),  # not ended
        ([f"chunk-writer-{W}.json"], False),  # announced, nothing more (killed)
        ([chunk(W, 0, end=True)], False),  # a writer never announced
        ([f"chunk-writer-{W}.json", chunk(W, 0, end=True), f"chunk-writer-{V}.json"], False),
        (
            [
                f"chunk-writer-{W}.json",
                chunk(W, 0, end=True),
                f"chunk-writer-{V}.json",
                chunk(V, 0),
                chunk(V, 1, end=True),
            ],
            True,
        ),
        ([f"chunk-writer-{W}.json", chunk(W, 0, end=True), chunk(W, 1, end=True)], False),
        ([f"chunk-writer-{W}.json", chunk(W, 0, end=True), "notes.txt"], False),
        ([], False),
    ],
)
def test_sealed_only_when_every_writer_ended_with_no_chunk_missing(
    names: list[str], whole: bool
) -> None:
    assert sealed(f"p/history/e/loss/chunks/{n}" for n in names) is whole


class FailingOnce(RecordingStore):
    """The first write of a key ending in ``ending`` fails (after landing, if ``lands``)."""

    def __init__(self, inner: Store, ending: str, *, lands: bool = False) -> None:
        super().__init__(inner)
        self.ending, self.lands = ending, lands

    def put(self, key: str, data: bytes, **kwargs: Any) -> Any:
        if self.ending and key.endswith(self.ending):
            self.ending = ""
            if self.lands:
                self.inner.put(key, data, **kwargs)
            raise EndpointError("Could not connect (injected).", "Try again.")
        return super().put(key, data, **kwargs)


def steps_read(store: Store) -> list[int]:
    history = rubicon_over(store).get_project("p").experiments()[0].metric_history("loss")
    return [p["step"] for p in history]


@pytest.mark.parametrize(
    ("ending", "lands"),
    [
        ("/metrics/loss/metadata.json", False),  # the step stored, its metric not updated
        (f"/{3:020d}.json", True),  # the step stored, the answer lost on the way back
    ],
)
def test_a_step_stored_by_a_failed_logging_call_is_still_read_after_close(
    root: Store, ending: str, lands: bool
) -> None:
    with rubicon_over(FailingOnce(root, ending, lands=lands)) as writer:
        experiment = writer.get_or_create_project("p").log_experiment("run")
        for step in range(5):
            with contextlib.suppress(FerryError):  # the call that failed, its step stored
                experiment.log_metric("loss", 1 / (step + 1), step=step)
    assert len([k for k in history_keys(root, experiment.id) if not is_chunk(k)]) == 5
    assert steps_read(root) == list(range(5))


def test_a_step_half_written_to_two_backends_is_read_from_either_after_close(
    root: Store, tmp_path: Path
) -> None:
    local = open_store(str(tmp_path / "second"))
    second = FailingOnce(local, f"/{3:020d}.json")
    with Rubicon(stores=[root, second], cache=False) as writer:
        experiment = writer.get_or_create_project("p").log_experiment("run")
        for step in range(5):
            try:
                experiment.log_metric("loss", 1 / (step + 1), step=step)
            except FerryError:  # 1 of 2 backends written; logged again, as the error says
                with pytest.raises(FerryError, match="already has a value"):
                    experiment.log_metric("loss", 1 / (step + 1), step=step)
    assert steps_read(root) == list(range(5))
    assert steps_read(local) == list(range(5))


def test_a_step_logged_while_another_thread_closes_the_client_is_read(root: Store) -> None:
    step_key = f"/{7:020d}.json"

    class ClosingMidStep(RecordingStore):
        """While step 7 is being written, another thread closes the client."""

        closer: threading.Thread | None = None

        def put(self, key: str, data: bytes, **kwargs: Any) -> Any:
            found = super().put(key, data, **kwargs)
            if key.endswith(step_key):
                self.closer = threading.Thread(target=writer.close)
                self.closer.start()
                self.closer.join(timeout=1)  # close() goes as far as it can meanwhile
            return found

    store = ClosingMidStep(root)
    writer = rubicon_over(store)
    experiment = writer.get_or_create_project("p").log_experiment("run")
    for step in range(8):
        experiment.log_metric("loss", 1 / (step + 1), step=step)
    assert store.closer is not None
    store.closer.join()
    assert steps_read(root) == list(range(8))
