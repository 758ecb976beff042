"""The asyncio client: the same surface, awaited, and really concurrent on S3."""

from __future__ import annotations

import asyncio

from ferry.devserver import LocalS3Server
from ferry.storage import open_store
from ferry.storage.s3 import S3Options
from ferry.tracking.aio import AsyncRubicon
from tests.support.recording import RecordingStore


def test_gathered_calls_run_concurrently_against_s3(
    s3_server: LocalS3Server, bucket: str, s3_options: S3Options
) -> None:
    store = RecordingStore(open_store(f"s3://{bucket}/root", s3_options=s3_options))
    rubicon = AsyncRubicon(stores=[store], concurrency=16)

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
    assert store.calls.count("put") >= 66
    assert store.peak > 4, f"at most {store.peak} request(s) in flight: not concurrent"
