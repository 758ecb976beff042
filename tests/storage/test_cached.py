"""CachedStore: one HEAD per cached read, ETag revalidation, size cap, offline mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ferry.devserver import free_port
from ferry.errors import OfflineError
from ferry.storage.cached import CachedStore, StaleCacheWarning
from ferry.storage.s3 import S3Options, S3Store
from tests.support.recording import RecordingStore


def test_a_cached_read_costs_one_head_and_a_change_is_seen(
    s3_store: S3Store, bucket: str, s3_options: S3Options, tmp_path: Path
) -> None:
    s3_store.put("frame.parquet", b"version 1")
    log = RecordingStore(s3_store)  # each store call is one S3 request
    cached = CachedStore(log, tmp_path / "cache")
    assert cached.get("frame.parquet") == b"version 1"
    assert log.take() == ["get"]
    assert cached.get("frame.parquet") == b"version 1"
    assert log.take() == ["head"]
    S3Store(f"s3://{bucket}/root", s3_options).put("frame.parquet", b"version 2")
    assert cached.get("frame.parquet") == b"version 2"
    assert log.take() == ["head", "get"]


def test_offline_serves_the_cache_with_a_warning(s3_store: S3Store, tmp_path: Path) -> None:
    s3_store.put("obj", b"payload")
    CachedStore(s3_store, tmp_path / "cache").get("obj")
    log = RecordingStore(s3_store)
    offline = CachedStore(log, tmp_path / "cache", offline=True)
    with pytest.warns(StaleCacheWarning, match="offline mode is on"):
        assert offline.get("obj") == b"payload"
    assert log.take() == []
    with pytest.raises(OfflineError, match="not in the local cache"):
        offline.get("never-read")


def test_an_unreachable_store_falls_back_to_the_cache(
    s3_store: S3Store, bucket: str, tmp_path: Path, dev_credentials: None
) -> None:
    s3_store.put("obj", b"payload")
    CachedStore(s3_store, tmp_path / "cache").get("obj")
    down = S3Store(
        f"s3://{bucket}/root",
        S3Options(
            endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1", max_attempts=1
        ),
    )
    # The same URL means the same cache entries.
    with pytest.warns(StaleCacheWarning, match="could not be reached"):
        assert CachedStore(down, tmp_path / "cache").get("obj") == b"payload"


def test_the_size_cap_evicts_the_least_recently_used(s3_store: S3Store, tmp_path: Path) -> None:
    cached = CachedStore(s3_store, tmp_path / "cache", max_bytes=10_000)
    for name in ("a", "b", "c"):
        s3_store.put(name, os.urandom(4_000))
    cached.get("a")
    cached.get("b")
    os.utime(cached._entry("a").with_suffix(".json"), (1, 1))  # a is the oldest use
    cached.get("c")
    assert cached._cached_info("a") is None
    assert cached._cached_info("b") is not None and cached._cached_info("c") is not None
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and not p.suffix]
    assert sum(p.stat().st_size for p in entries) <= 10_000
