"""s3store / s3read: any object by key, the same type back, a default path, a cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry.devserver import LocalS3Server
from ferry.errors import AlreadyExistsError, ConfigError, NotFoundError, OfflineError
from ferry.objects import ObjectStore, s3delete, s3exists, s3ls, s3read, s3store
from ferry.storage.cached import StaleCacheWarning


@pytest.fixture
def s3_path(
    s3_server: LocalS3Server,
    bucket: str,
    dev_credentials: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    monkeypatch.setenv("FERRY_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("FERRY_REGION", "us-east-1")
    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path / "cache"))
    return f"s3://{bucket}/objects"


def local(p) -> object:  # type: ignore[no-untyped-def]
    return lambda x: x + p


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@pytest.mark.parametrize(
    "value",
    [
        {"k": [1, 2.5, None, "s", True]},
        "text",
        42,
        [1, 2],
        b"\x00raw",
        None,
    ],
)
def test_json_and_bytes_values_round_trip(s3_path: str, value: object) -> None:
    s3store(value, "v", s3_path)
    back = s3read("v", s3_path)
    assert back == value and type(back) is type(value)


def test_frames_arrays_and_anything_else_come_back_as_their_type(s3_path: str) -> None:
    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    s3store(frame, "frame", s3_path)
    pd.testing.assert_frame_equal(s3read("frame", s3_path), frame)
    array = np.arange(12.0).reshape(3, 4)
    s3store(array, "array", s3_path)
    assert (s3read("array", s3_path) == array).all()
    s3store(local(10), "lambda", s3_path)
    assert s3read("lambda", s3_path)(1) == 11
    s3store(Point(3), "point", s3_path)
    assert s3read("point", s3_path).x == 3
    s3store({1: "int keys"}, "dict", s3_path)  # not JSON-able: pickled, same dict back
    assert s3read("dict", s3_path) == {1: "int keys"}


def test_the_default_path_and_its_error(s3_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="export FERRY_PATH=s3://bucket/prefix/"):
        s3store(1, "k")
    monkeypatch.setenv("FERRY_PATH", s3_path)
    assert s3store({"a": 1}, "team/result") == f"{s3_path}/team/result"
    assert s3read("team/result") == {"a": 1}
    assert s3exists("team/result") and not s3exists("team/other")
    assert [i.key for i in s3ls("team/")] == ["team/result"]
    s3delete("team/result")
    assert not s3exists("team/result")
    with pytest.raises(NotFoundError, match="s3ls"):
        s3read("team/result")


def test_overwrite_false_never_replaces(s3_path: str) -> None:
    s3store("first", "once", s3_path, overwrite=False)
    with pytest.raises(AlreadyExistsError):
        s3store("second", "once", s3_path, overwrite=False)
    assert s3read("once", s3_path) == "first"


def test_cached_reads_revalidate_and_offline_serves_the_cache(
    s3_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ferry.config import load_settings

    settings = load_settings()
    writer = ObjectStore(s3_path, settings)
    writer.write(pd.DataFrame({"x": range(5)}), "frame")
    reader = ObjectStore(s3_path, settings)
    assert reader.read("frame")["x"].sum() == 10
    writer.write(pd.DataFrame({"x": range(6)}), "frame")  # another writer changes it
    assert reader.read("frame")["x"].sum() == 15  # the ETag check saw the change
    offline = ObjectStore(s3_path, load_settings({"offline": True}))
    with pytest.warns(StaleCacheWarning, match="may be stale"):
        assert offline.read("frame")["x"].sum() == 15
    with pytest.raises(OfflineError):
        offline.read("never-read")


def test_cached_frames_are_ordinary_writable_copies(s3_path: str) -> None:
    s3store(pd.DataFrame({"x": [1.0, 2.0]}), "frame", s3_path)
    first = s3read("frame", s3_path)  # fills the cache
    cached = s3read("frame", s3_path)  # served from the cache's Arrow copy
    cached.loc[0, "x"] = 99.0  # a caller may change what it got ...
    assert s3read("frame", s3_path)["x"].tolist() == [1.0, 2.0]  # ... without changing the cache
    pd.testing.assert_frame_equal(first, pd.DataFrame({"x": [1.0, 2.0]}))


class _Trap:
    """Unpickling it would create a file: proof that code ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


def test_an_object_ferry_did_not_write_is_never_unpickled(
    s3_path: str, bucket: str, tmp_path: Path
) -> None:
    import pickle

    import boto3

    from ferry.config import load_settings

    trap = tmp_path / "code-ran"
    payload = pickle.dumps(_Trap(str(trap)))
    settings = load_settings()
    boto3.client("s3", endpoint_url=settings.endpoint_url, region_name="us-east-1").put_object(
        Bucket=bucket, Key="objects/foreign.pkl", Body=payload
    )
    assert s3read("foreign.pkl", s3_path) == payload  # its bytes, as they are
    assert not trap.exists()


@pytest.mark.parametrize(
    ("obj", "format_name"),
    [(pd.DataFrame({"a": [1]}), "parquet-pandas"), ({"k": 1}, "json"), (np.arange(3), "npy")],
)
def test_a_damaged_object_is_a_clear_error(
    s3_path: str, bucket: str, obj: object, format_name: str
) -> None:
    import boto3

    from ferry.config import load_settings
    from ferry.errors import FerryError

    s3store(obj, "thing", s3_path)
    client = boto3.client("s3", endpoint_url=load_settings().endpoint_url, region_name="us-east-1")
    client.put_object(
        Bucket=bucket,
        Key="objects/thing",
        Body=b"\x00garbage",
        Metadata={"ferry-format": format_name},
    )
    with pytest.raises(FerryError) as caught:
        s3read("thing", s3_path)
    assert f"is not valid {format_name} data" in str(caught.value)
    assert "store the object again" in str(caught.value)


def test_an_object_that_cannot_be_pickled_is_refused_before_anything_is_written(
    s3_path: str,
) -> None:
    import threading

    with pytest.raises(ConfigError, match="cannot be pickled"):
        s3store({"lock": threading.Lock()}, "locked", s3_path)
    assert not s3exists("locked", s3_path)
