"""CompositeStore: writes to every member, reads from the first that answers (seed 001)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.devserver import free_port
from ferry.errors import MultiError, NotFoundError
from ferry.storage.composite import CompositeStore
from ferry.storage.local import LocalStore
from ferry.storage.memory import MemoryStore
from ferry.storage.s3 import S3Options, S3Store


def test_writes_reach_every_member(tmp_path: Path) -> None:
    a, b = LocalStore(tmp_path / "rootA"), LocalStore(tmp_path / "rootB")
    CompositeStore([a, b]).put("exampleproject/metadata.json", b"{}")
    assert a.get("exampleproject/metadata.json") == b.get("exampleproject/metadata.json") == b"{}"


def test_a_failing_member_is_named_and_the_others_still_get_the_write(
    s3_options: S3Options,
) -> None:
    memory = MemoryStore()
    broken = S3Store("s3://bucket-that-is-not-there", s3_options)
    with pytest.raises(MultiError) as caught:
        CompositeStore([broken, memory]).put("k", b"v")
    assert memory.get("k") == b"v"
    assert [url for url, _ in caught.value.failures] == ["s3://bucket-that-is-not-there"]
    assert "does not exist" in str(caught.value)


def test_reads_come_from_the_first_member_that_answers(s3_options: S3Options) -> None:
    memory = MemoryStore()
    memory.put("k", b"from memory")
    broken = S3Store("s3://bucket-that-is-not-there", s3_options)
    store = CompositeStore([broken, memory])
    assert store.get("k") == b"from memory"
    assert [i.key for i in store.list()] == ["k"]


def test_when_every_member_fails_one_error_lists_each(
    tmp_path: Path, s3_options: S3Options, dev_credentials: None
) -> None:
    empty = CompositeStore([MemoryStore("a"), LocalStore(tmp_path)])
    with pytest.raises(NotFoundError) as missing:
        empty.get("nothing")
    assert "memory://a" in str(missing.value) and str(tmp_path) in str(missing.value)

    unreachable = S3Options(
        endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1", max_attempts=1
    )
    failing = CompositeStore(
        [
            S3Store("s3://bucket-that-is-not-there", s3_options),
            S3Store("s3://other-bucket", unreachable),
        ]
    )
    with pytest.raises(MultiError) as caught:
        failing.get("k")
    assert len(caught.value.failures) == 2
    assert "does not exist" in str(caught.value) and "Could not connect" in str(caught.value)
