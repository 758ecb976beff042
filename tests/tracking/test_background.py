"""The opt-in asynchronous logging mode: calls return before their write lands, failures
surface at wait()/flush()/close(), a metric's steps land in order, nothing is lost at exit."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from ferry import Rubicon, RubiconException
from ferry.devserver import LocalS3Server
from ferry.storage import Store, open_store
from ferry.storage.base import ObjectInfo, PutMode
from tests.support.recording import RecordingStore


class GatedStore(RecordingStore):
    """Holds every write until ``gate`` is set; ``jitter`` delays each write at random."""

    def __init__(self, inner: Store, jitter: float = 0.0) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.jitter = jitter
        self.landed: list[str] = []  # keys, in the order their writes landed

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        self.gate.wait()
        if self.jitter:
            time.sleep(random.uniform(0, self.jitter))
        with self._lock:  # the write and its place in `landed` together
            info = self.inner.put(key, data, mode=mode, metadata=metadata)
            self.landed.append(key)
        return info


def test_calls_return_before_the_write_lands_and_failures_surface_at_flush(
    tmp_path: Path,
) -> None:
    store = GatedStore(open_store(str(tmp_path / "root")))
    store.gate.set()
    rubicon = Rubicon(stores=[store], synchronous=False)
    experiment = rubicon.create_project("p").log_experiment("e")  # projects: synchronous
    experiment.wait()
    store.gate.clear()
    metrics = [experiment.log_metric(f"m{i}", i) for i in range(20)]
    duplicate = experiment.log_metric("m3", 0.5)
    assert not any(m._write.done() for m in metrics)  # nothing has landed yet
    with pytest.raises(TimeoutError):
        metrics[0].wait(timeout=0.05)
    store.gate.set()
    with pytest.raises(RubiconException, match="A metric with name 'm3' already exists."):
        rubicon.flush()
    rubicon.flush()  # a failure is raised once
    with pytest.raises(RubiconException, match="'m3' already exists"):
        duplicate.wait()  # ... except by the handle of the write that failed
    assert sorted(m.name for m in experiment.metrics()) == sorted(f"m{i}" for i in range(20))
    fresh = Rubicon(root_dir=str(tmp_path / "root")).get_project("p").experiments()[0]
    assert fresh.metric("m3").value == 3


def test_a_failure_taken_from_its_handle_is_not_raised_again(tmp_path: Path) -> None:
    rubicon = Rubicon(root_dir=str(tmp_path), concurrency=8)
    experiment = rubicon.create_project("p").log_experiment("e")
    experiment.log_parameter("lr", 0.1)
    queued = experiment.log_parameter("lr", 0.2, synchronous=False)  # one call, queued
    with pytest.raises(RubiconException, match="A parameter with name 'lr' already exists."):
        queued.wait()
    rubicon.flush()
    for _ in range(2):
        experiment.log_feature("f", synchronous=False)
    experiment.log_metric("x", 1, synchronous=False)
    experiment.log_metric("x", 2, synchronous=False)
    with pytest.raises(RubiconException, match="2 background writes failed: ") as caught:
        rubicon.close()  # the two failures in the order they came (they run concurrently)
    assert "A feature with name 'f'" in str(caught.value)
    assert "A metric with name 'x'" in str(caught.value)
    assert "parameter" not in str(caught.value)  # taken from its handle already


def test_reads_wait_for_queued_writes(tmp_path: Path) -> None:
    store = GatedStore(open_store(str(tmp_path / "root")), jitter=0.002)
    store.gate.set()
    with Rubicon(stores=[store], synchronous=False, concurrency=16) as rubicon:
        project = rubicon.create_project("p")
        for i in range(10):
            run = project.log_experiment(f"run-{i}")
            run.log_parameter("i", i)
            run.log_metric("score", i / 10)
            run.add_tags([f"tag-{i}"])
        frame = project.to_df()
        assert sorted(frame["i"]) == list(range(10))
        assert sorted(frame["score"]) == [i / 10 for i in range(10)]
        assert sorted(t for tags in frame["tags"] for t in tags) == sorted(
            f"tag-{i}" for i in range(10)
        )


def test_a_metrics_steps_land_in_order(tmp_path: Path) -> None:
    store = GatedStore(open_store(str(tmp_path / "root")), jitter=0.005)
    store.gate.set()
    rubicon = Rubicon(stores=[store], synchronous=False, concurrency=32)
    experiment = rubicon.create_project("p").log_experiment("e")
    for step in range(80):
        experiment.log_metric("loss", 1 / (step + 1), step=step)
        experiment.add_tags([f"step-{step}"])
        experiment.remove_tags([f"step-{step}"])
    rubicon.flush()
    series = [k.rsplit("/", 1)[1] for k in store.landed if "/history/" in k]
    assert series[0].startswith("chunk-writer-")  # announced before its first step
    steps = [name for name in series if not name.startswith("chunk-")]
    assert steps == [f"{step:020d}.json" for step in range(80)]  # each step after the last
    again = Rubicon(root_dir=str(tmp_path / "root")).get_project("p").experiments()[0]
    assert again.metric("loss").value == 1 / 80  # the last step's value landed last
    assert [p["step"] for p in again.metric_history("loss")] == list(range(80))
    assert again.tags == []  # every add landed before its remove


def test_queued_writes_are_flushed_at_exit(
    s3_server: LocalS3Server, bucket: str, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        from ferry import Rubicon
        rubicon = Rubicon(root_dir="s3://{bucket}/root", endpoint_url="{s3_server.url}",
                          region="us-east-1", key="test", secret="test",
                          synchronous=False, cache_dir="{tmp_path / "cache"}")
        experiment = rubicon.create_project("p").log_experiment("e")
        for i in range(300):
            experiment.log_metric(f"m{{i}}", i)
        for step in range(50):
            experiment.log_metric("loss", step, step=step)
        experiment.log_metric("m0", -1)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "A metric with name 'm0' already exists." in done.stderr
    assert "Traceback" not in done.stderr
    rubicon = Rubicon(
        root_dir=f"s3://{bucket}/root",
        endpoint_url=s3_server.url,
        region="us-east-1",
        key="test",
        secret="test",
        cache=False,
    )
    experiment = rubicon.get_project("p").experiments()[0]
    values = {m.name: m.value for m in experiment.metrics()}
    assert len(values) == 301 and values["m0"] == 0 and values["loss"] == 49
    assert [p["step"] for p in experiment.metric_history("loss")] == list(range(50))
