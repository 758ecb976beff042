"""The concurrent, cached reader: an unchanged project reads back at the cost of its
listing; a changed record is always seen; the cache is bounded and can be switched off."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ferry import Rubicon
from ferry.storage import open_store
from ferry.storage.s3 import S3Options
from ferry.tracking.record_cache import SqliteRecordCache
from tests.support.recording import RecordingStore


def fill(rubicon: Rubicon, experiments: int = 5) -> None:
    project = rubicon.create_project("p")
    for i in range(experiments):
        experiment = project.log_experiment(f"run-{i}", tags=["grid"])
        experiment.add_tags([f"i:{i}"])
        for j in range(2):
            experiment.log_parameter(f"param_{j}", i * j)
            experiment.log_metric(f"score_{j}", (i + j) / 10)
        for step in range(3):
            experiment.log_metric("loss", 1 / (step + 1), step=step)


def read_everything(rubicon: Rubicon) -> Any:
    project = rubicon.get_project("p")
    seen = [
        (
            e.name,
            sorted(e.tags),
            {p.name: p.value for p in e.parameters()},
            {m.name: m.value for m in e.metrics()},
        )
        for e in project.experiments()
    ]
    return seen, project.to_df().shape


@pytest.fixture
def s3(bucket: str, s3_options: S3Options, tmp_path: Path) -> Any:
    def reader(**kwargs: Any) -> tuple[Rubicon, RecordingStore]:
        store = RecordingStore(open_store(f"s3://{bucket}/root", s3_options=s3_options))
        return Rubicon(stores=[store], cache_dir=str(tmp_path / "cache"), **kwargs), store

    return reader


def test_an_unchanged_project_reads_back_at_the_cost_of_its_listing(s3: Any) -> None:
    writer, _ = s3(cache=False)
    fill(writer)
    cold, store = s3()
    expected = read_everything(cold)
    assert store.calls.count("get") == 1 + 5 * 7  # project; then each experiment's record,
    #                                                tag file, 2 parameters and 3 metrics
    warm, store = s3()
    assert read_everything(warm) == expected
    # The project's own record is read by key (rubicon-ml's get_project); every other
    # record comes from the cache because the listing shows the same ETag.
    assert sorted(set(store.calls)) == ["get", "list"]
    assert store.calls.count("get") == 1
    experiment = warm.get_project("p").experiments()[0]
    store.take()
    assert [p["value"] for p in experiment.metric_history("loss")] == [1.0, 0.5, 1 / 3]
    # first read of the steps: its chunks folder (the writer is still open), then the
    # series, then each step
    assert sorted(store.take()) == ["get", "get", "get", "list", "list"]
    assert [p["value"] for p in experiment.metric_history("loss")] == [1.0, 0.5, 1 / 3]
    assert store.take() == ["list", "list"]


def test_a_record_rewritten_by_another_ferry_is_seen(s3: Any) -> None:
    writer, _ = s3(cache=False)
    fill(writer, experiments=2)
    reader, store = s3()
    read_everything(reader)
    run = writer.get_project("p").experiments()[0]
    run.log_metric("loss", 0.1, step=3)  # rewrites metrics/loss/metadata.json in place
    run.add_tags(["late"])
    store.take()
    (first, second) = reader.get_project("p").experiments()
    assert {m.name: m.value for m in first.metrics()}["loss"] == 0.1 and "late" in first.tags
    assert {m.name: m.value for m in second.metrics()}["loss"] == 1 / 3
    # Only what changed was fetched: the project record, the new tag file, the rewritten metric.
    assert store.calls.count("get") == 3


def test_the_cache_can_be_switched_off(s3: Any) -> None:
    writer, _ = s3(cache=False)
    fill(writer, experiments=2)
    read_everything(s3()[0])
    off, store = s3(cache=False)
    read_everything(off)
    assert off.repository.cache is None
    assert store.calls.count("get") > 10


def test_no_cache_in_memory_nor_with_sse_c(tmp_path: Path) -> None:
    assert Rubicon(persistence="memory", root_dir=str(tmp_path)).repository.cache is None
    key = tmp_path / "sse.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    sse = Rubicon(root_dir="s3://bucket/root", sse_c_key_file=str(key), region="us-east-1")
    assert sse.repository.cache is None
    for root in ("s3://bucket/r", str(tmp_path)):
        cache = Rubicon(root_dir=root, region="us-east-1").repository.cache
        assert isinstance(cache, SqliteRecordCache)


def test_local_records_are_cached_once_settled(tmp_path: Path) -> None:
    """A local ETag is size and modification time: a record is kept only once it was last
    modified well before the read, so a later rewrite always has another ETag."""
    root = tmp_path / "root"
    fill(Rubicon(root_dir=str(root), cache=False), experiments=2)

    def reader() -> tuple[Rubicon, RecordingStore]:
        store = RecordingStore(open_store(str(root)))
        return Rubicon(stores=[store], cache_dir=str(tmp_path / "cache")), store

    expected = read_everything(reader()[0])
    young, store = reader()
    assert read_everything(young) == expected
    assert store.calls.count("get") == 1 + 2 * 2 * 7  # both passes read: nothing was kept
    old = time.time() - 60
    for path in root.rglob("*.json"):
        os.utime(path, (old, old))
    read_everything(reader()[0])
    settled, store = reader()
    assert read_everything(settled) == expected
    assert store.calls.count("get") == 1  # only the project's record, read by key
    run = Rubicon(root_dir=str(root), cache=False).get_project("p").experiments()[0]
    run.log_metric("loss", 0.1, step=3)  # rewrites a settled record
    again, store = reader()
    first = again.get_project("p").experiments()[0]
    assert {m.name: m.value for m in first.metrics()}["loss"] == 0.1


def test_the_cache_is_bounded_and_keeps_what_was_used_last(tmp_path: Path) -> None:
    cache = SqliteRecordCache(tmp_path / "records.sqlite3", max_bytes=10_000)
    cache.put_many("s3://b/r", [(f"old/{i}", "e", b"x" * 100) for i in range(50)])
    cache.put_many("s3://b/r", [(f"new/{i}", "e", b"x" * 100) for i in range(100)])
    db = cache._connect()
    (total,) = db.execute("SELECT SUM(LENGTH(data)) FROM records").fetchone()
    assert total <= 10_000
    assert cache.get_many("s3://b/r", {"new/99": "e"}) == {"new/99": b"x" * 100}
    assert cache.get_many("s3://b/r", {"old/0": "e"}) == {}  # the oldest went first
    assert cache.get_many("s3://b/r", {"new/99": "other etag"}) == {}
    assert cache.get_many("s3://other/root", {"new/99": "e"}) == {}


def test_an_unusable_cache_warns_once_and_reads_go_on(s3: Any, tmp_path: Path) -> None:
    writer, _ = s3(cache=False)
    fill(writer, experiments=1)
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    reader, _ = s3()
    with pytest.warns(UserWarning, match="tracking cache .* cannot be used"):
        first = read_everything(reader)
    assert read_everything(reader) == first


def test_one_reader_serves_many_threads(s3: Any) -> None:
    writer, _ = s3(cache=False)
    fill(writer, experiments=4)
    reader, _ = s3()
    expected = read_everything(reader)
    project = reader.get_project("p")
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            experiments = project.experiments()
            rows = [(e.name, len(e.metrics()), len(e.parameters())) for e in experiments]
            results.append((rows, project.to_df().shape, read_everything(reader)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8
    assert all(r[2] == expected and r[0][0] == ("run-0", 3, 2) for r in results)
