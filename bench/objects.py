"""Object store benchmark: s3read of a 100 MB DataFrame, uncached and cached, beside what a
user writes by hand (boto3 get_object + pandas.read_parquet), one invocation.

    .venv/bin/python bench/objects.py [--repeats 5]

Against the local S3 server (ministack on 127.0.0.1). Counts the store requests each
cached read makes (through a recording wrapper store, nothing patched).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import TOOLS, WORK
from tests.support.recording import RecordingStore

from ferry.config import load_settings
from ferry.devserver import LocalS3Server
from ferry.objects import ObjectStore
from ferry.storage.s3 import S3Options, S3Store


def timed(call, repeats: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import boto3
    import numpy as np
    import pandas as pd

    rows = 100 * 1024 * 1024 // 8 // 4  # four float64 columns, ~100 MB in memory
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(size=rows) for c in "abcd"})
    with LocalS3Server(tools_dir=TOOLS) as server:
        os.environ.update(server.env())
        server.create_bucket("objects")
        cache = WORK / "objects-cache"
        shutil.rmtree(cache, ignore_errors=True)
        settings = load_settings(
            {"cache_dir": str(cache), "region": "us-east-1", "endpoint_url": server.url}
        )
        options = S3Options.from_settings(settings)
        recorder = RecordingStore(S3Store("s3://objects/bench", options))
        store = ObjectStore("s3://objects/bench", settings, store=recorder)
        store.write(frame, "frame")
        size = store.ls()[0].size

        def uncached() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            store.read("frame")

        cold = timed(uncached, args.repeats)
        store.read("frame")
        recorder.take()
        warm = timed(lambda: store.read("frame"), args.repeats)
        per_read = len(recorder.take()) / args.repeats
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
        by_hand = timed(
            lambda: pd.read_parquet(
                io.BytesIO(client.get_object(Bucket="objects", Key="bench/frame")["Body"].read())
            ),
            args.repeats,
        )
    print(
        f"\nObjects: a {rows:,}-row DataFrame ({frame.memory_usage().sum() / 1e6:.0f} MB in "
        f"memory, {size / 1e6:.0f} MB as Parquet), median of {args.repeats}"
    )
    print(f"s3read uncached           {cold:8.3f} s")
    print(
        f"s3read cached             {warm:8.3f} s   {cold / warm:.1f}x faster than uncached; "
        f"{per_read:.0f} request(s) per read"
    )
    print(f"boto3 get + read_parquet  {by_hand:8.3f} s   ({by_hand / warm:.1f}x the cached read)")


if __name__ == "__main__":
    main()
