"""One contract for every Store: memory, local disk, and S3 over HTTP (local server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ferry.errors import AlreadyExistsError, ConfigError, NotFoundError
from ferry.storage.base import Store
from ferry.storage.batch import get_many, put_many
from ferry.storage.local import LocalStore
from ferry.storage.memory import MemoryStore
from ferry.storage.s3 import S3Store, SseCKey

S3_CONFIGS = ["s3", "s3-boto3-only", "s3-sse-c"]


def s3_config(request: pytest.FixtureRequest, name: str) -> S3Store:
    """S3 in each transport configuration, so each must pass alone: obstore where it
    serves (the default), boto3 alone, and with an SSE-C key (large uploads on boto3)."""
    from dataclasses import replace

    s3_store: S3Store = request.getfixturevalue("s3_store")
    if name == "s3-boto3-only":
        return S3Store(s3_store.url, replace(s3_store.options, fast=False))
    if name == "s3-sse-c":
        return S3Store(s3_store.url, replace(s3_store.options, sse_c=SseCKey(os.urandom(32))))
    return s3_store


@pytest.fixture(params=["memory", "local", *S3_CONFIGS])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Every backend; S3 in each of its transport configurations."""
    if request.param == "memory":
        return MemoryStore("contract")
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    return s3_config(request, request.param)


@pytest.fixture(params=S3_CONFIGS)
def any_s3(request: pytest.FixtureRequest) -> S3Store:
    return s3_config(request, request.param)


def test_put_then_get_returns_the_same_bytes(store: Store) -> None:
    store.put("a/b.bin", b"\x00\x01payload")
    assert store.get("a/b.bin") == b"\x00\x01payload"
    assert store.get_object("a/b.bin").info.size == 9


def test_missing_object_is_not_found_and_a_file_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.get("nope/missing.txt")
    assert isinstance(caught.value, FileNotFoundError)
    with pytest.raises(NotFoundError):
        store.head("nope/missing.txt")
    assert not store.exists("nope/missing.txt")


def test_create_mode_never_overwrites(store: Store) -> None:
    store.put("once.txt", b"first", mode="create")
    with pytest.raises(AlreadyExistsError) as caught:
        store.put("once.txt", b"second", mode="create")
    assert "already exists" in str(caught.value)
    assert store.get("once.txt") == b"first"
    store.put("once.txt", b"second")
    assert store.get("once.txt") == b"second"


def test_head_reports_size_etag_and_metadata(store: Store) -> None:
    first = store.put("m.json", b"{}", metadata={"kind": "json"})
    info = store.head("m.json")
    assert (info.size, info.etag, dict(info.metadata)) == (2, first.etag, {"kind": "json"})
    store.put("m.json", b'{"a": 1}')
    assert store.head("m.json").etag != first.etag


def test_list_is_recursive_filtered_and_in_key_order(store: Store) -> None:
    for key in ["p/z.txt", "p/a/1.txt", "p/a/2.txt", "p-other.txt", "q/x.txt"]:
        store.put(key, key.encode())
    assert [i.key for i in store.list("p/")] == ["p/a/1.txt", "p/a/2.txt", "p/z.txt"]
    assert [i.key for i in store.list("p")] == ["p-other.txt", "p/a/1.txt", "p/a/2.txt", "p/z.txt"]
    assert [i.size for i in store.list("q/")] == [len(b"q/x.txt")]


def test_ls_shows_one_level(store: Store) -> None:
    for key in ["d/a/1.txt", "d/b/2.txt", "d/top.txt"]:
        store.put(key, b"x")
    listing = store.ls("d/")
    assert listing.prefixes == ["d/a/", "d/b/"]
    assert [o.key for o in listing.objects] == ["d/top.txt"]


def test_delete_removes_many_and_ignores_missing(store: Store) -> None:
    put_many(store, {f"del/{i}.txt": b"x" for i in range(10)})
    store.delete([f"del/{i}.txt" for i in range(5)] + ["del/never-existed.txt"])
    assert [i.key for i in store.list("del/")] == [f"del/{i}.txt" for i in range(5, 10)]


def test_files_stream_both_ways(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(300_000))
    store.put_file("files/in.bin", source)
    target = tmp_path / "out" / "deep" / "copy.bin"
    info = store.get_file("files/in.bin", target)
    assert target.read_bytes() == source.read_bytes()
    assert info.size == 300_000


def test_get_file_of_a_missing_key_leaves_no_file(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "out" / "never.bin"
    with pytest.raises(NotFoundError):
        store.get_file("missing.bin", target)
    out = tmp_path / "out"
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


@pytest.mark.parametrize("key", ["../escape.txt", "/abs.txt", "a/../../b", "a/./b", ""])
def test_keys_that_could_escape_the_root_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ConfigError):
        store.put(key, b"x")


def test_many_objects_round_trip_concurrently(store: Store) -> None:
    items = {f"many/{i:04d}.bin": os.urandom(64) for i in range(200)}
    put_many(store, items, workers=16)
    assert get_many(store, items, workers=16) == items


def test_s3_listing_and_deleting_cross_page_and_batch_limits(s3_store: S3Store) -> None:
    """More than 1,000 keys: S3 pages listings and caps DeleteObjects at 1,000 keys."""
    keys = [f"big/{i:05d}" for i in range(1_100)]
    put_many(s3_store, dict.fromkeys(keys, b"."), workers=32)
    assert [i.key for i in s3_store.list("big/")] == keys
    s3_store.delete(keys)
    assert list(s3_store.list("big/")) == []


def test_empty_objects_round_trip(store: Store, tmp_path: Path) -> None:
    store.put("empty", b"")
    assert store.get("empty") == b""
    assert store.get_file("empty", tmp_path / "empty").size == 0
    assert (tmp_path / "empty").read_bytes() == b""


def test_multi_part_downloads_reassemble_exactly(any_s3: S3Store, tmp_path: Path) -> None:
    from dataclasses import replace

    # Parts of 1 MiB force several ranged requests.
    s3_store = S3Store(any_s3.url, replace(any_s3.options, part_size=1024 * 1024))
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3_store.put("parts.bin", data)
    info = s3_store.get_file("parts.bin", tmp_path / "parts.bin")
    assert (tmp_path / "parts.bin").read_bytes() == data
    assert info.size == len(data) and info.etag == s3_store.head("parts.bin").etag


def test_unusual_keys_round_trip(store: Store) -> None:
    key = "dir/ünï cödé (1)+%20.txt"
    store.put(key, b"odd")
    assert store.get(key) == b"odd"
    assert [i.key for i in store.list("dir/")] == [key]


@pytest.mark.parametrize("key", ["nul\x00key", "line\nbreak", "tab\there", "del\x7f"])
def test_keys_with_control_characters_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        store.put(key, b"x")
