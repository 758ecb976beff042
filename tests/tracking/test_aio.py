"""The asyncio client: same surface, awaited, and really concurrent on S3."""

from __future__ import annotations

import asyncio
import threading

from ferry.devserver import LocalS3Server
from ferry.storage.s3 import S3Store
from ferry.tracking.aio import AsyncRubicon


class InFlight:
    """Counts PutObject requests in flight at once (observing botocore's events)."""

    def __init__(self, store: S3Store) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()
        events = store._client.meta.events
        events.register("before-call.s3.PutObject", self._start)
        events.register("after-call.s3.PutObject", self._end)

    def _start(self, **_: object) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def _end(self, **_: object) -> None:
        with self._lock:
            self.now -= 1


def test_gathered_calls_run_concurrently_against_s3(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    rubicon = AsyncRubicon(
        root_dir=f"s3://{bucket}/root",
        endpoint_url=s3_server.url,
        region="us-east-1",
        concurrency=16,
    )
    store = rubicon._target.repositories[0].store
    assert isinstance(store, S3Store)
    counter = InFlight(store)

    async def scenario() -> None:
        project = await rubicon.create_project("async project")
        experiment = await project.log_experiment("run", tags=["a"])
        await asyncio.gather(*(experiment.log_metric(f"m{i}", i) for i in range(64)))
        await experiment.log_parameter("lr", 0.1)
        metrics = await experiment.metrics()
        assert sorted(m.name for m in metrics) == sorted(f"m{i}" for i in range(64))
        assert metrics[0].value in range(64) and experiment.name == "run"
        found = await (await rubicon.get_project("async project")).experiments(tags=["a"])
        assert [e.id for e in found] == [experiment.id]
        frame = await project.to_df()
        assert frame.shape == (1, 7 + 1 + 64)

    asyncio.run(scenario())
    rubicon.close()
    assert counter.peak > 4, f"at most {counter.peak} request(s) in flight: not concurrent"
