"""Regression tests for a review's findings (each failed on the code it was found in)."""

from __future__ import annotations

import base64
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import keys, workspace, write


def test_a_push_never_deletes_a_teammates_new_version(
    tmp_path: Path, bucket: str, ferry, raw
) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    b = workspace(tmp_path / "b", bucket, ferry)
    write(a, "data/models/m.bin", "v1")
    ferry("push", "models", cwd=a)
    ferry("pull", "models", cwd=b)
    write(b, "data/models/m.bin", "v2 retrained by b")
    ferry("push", "models", cwd=b)
    (a / "data/models/m.bin").unlink()  # A cleans up its old local copy
    ferry("push", "models", cwd=a)
    body = raw.get_object(Bucket=bucket, Key="team/models/m.bin")["Body"].read()
    assert body == b"v2 retrained by b"


def test_a_key_rotation_never_deletes_local_files(
    tmp_path, bucket, ferry, raw, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    k1, k2 = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(k1).decode())
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/run.json", "precious")
    ferry("push", "logs", cwd=a)
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(k2).decode())
    out = ferry("sync", "logs", cwd=a, code=21)
    assert (a / "data/logs/run.json").read_text() == "precious"
    assert "skipped: skipped" not in out


def test_a_file_folder_clash_never_deletes_a_local_edit(tmp_path, bucket, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    toml = (a / "ferry.toml").read_text()
    logs = 'name = "logs"\nlocal = "data/logs"\nremote = "logs"\ndirection = "both"\n'
    (a / "ferry.toml").write_text(
        toml.replace(logs + 'conflict = "local-wins"', logs + 'conflict = "remote-wins"')
    )
    write(a, "data/logs/a", "v1")
    ferry("push", "logs", cwd=a)
    raw.put_object(Bucket=bucket, Key="team/logs/a/b", Body=b"teammate")
    write(a, "data/logs/a", "my unsynced edit")
    ferry("sync", "logs", cwd=a, code=21)
    assert (a / "data/logs/a").read_text() == "my unsynced edit"


def test_a_dry_run_shows_the_plan_and_what_a_real_run_would_refuse(
    tmp_path, bucket, ferry, raw
) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/cached_datasets/mine.csv", "local only")
    raw.put_object(Bucket=bucket, Key="team/cached-datasets/train.csv", Body=b"t")
    out = ferry("pull", "cached-datasets", "--dry-run", cwd=a)
    assert "delete-local\tmine.csv" in out and "download\ttrain.csv" in out
    assert "a real run would refuse" in out


def test_an_empty_file_does_not_stop_sse_c_from_being_turned_on(
    tmp_path, bucket, ferry, raw, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/run.json", "x")
    write(a, "data/logs/__init__.py", "")
    ferry("push", "logs", cwd=a)
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(os.urandom(32)).decode())
    out = ferry("push", "logs", "--json", cwd=a)
    assert json.loads(out)[0]["encrypted"] == 2


def test_recovery_never_aborts_another_writers_upload(tmp_path, bucket, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/run.json", "x")
    ferry("push", "logs", cwd=a)
    state_file = a / ".ferry/sync/logs.state"
    doc = json.loads(state_file.read_text())
    doc["in_progress"], doc["since"] = True, time.time() - 3600  # A died an hour ago
    state_file.write_text(json.dumps(doc))
    raw.create_multipart_upload(Bucket=bucket, Key="team/logs/b-machine/ckpt.pt")  # B, now
    ferry("push", "logs", cwd=a)
    assert len(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1


def test_resolve_refuses_what_is_no_conflict(tmp_path, bucket, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    raw.put_object(Bucket=bucket, Key="team/cached-datasets/train.csv", Body=b"dataset")
    raw.put_object(Bucket=bucket, Key="team/logs/only-there.txt", Body=b"x")
    a = workspace(tmp_path / "a", bucket, ferry)
    out = ferry("resolve", "data/cached_datasets/train.csv", "--keep", "local", cwd=a, code=3)
    assert "pull-only" in out
    out = ferry("resolve", "data/logs/only-there.txt", "--keep", "local", cwd=a, code=3)
    assert "not in conflict" in out
    assert len(keys(raw, bucket)) == 2


def test_an_unreadable_state_starts_afresh_and_says_so(tmp_path, bucket, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/run.json", "x")
    ferry("push", "logs", cwd=a)
    (a / ".ferry/sync/logs.state").write_text("")  # as a power cut could leave it
    out = ferry("push", "logs", cwd=a, code=21)
    assert "unreadable" in out and "started afresh" in out
    ferry("push", "logs", cwd=a)  # the state is whole again


def test_a_local_file_written_during_the_sync_is_never_deleted(
    tmp_path, bucket, ferry, raw, s3_server
) -> None:  # type: ignore[no-untyped-def]
    from ferry.config import load_settings
    from ferry.sync import find_workspace, run_workspace

    a = workspace(tmp_path / "a", bucket, ferry)
    b = workspace(tmp_path / "b", bucket, ferry)
    write(a, "data/logs/x.log", "old")
    ferry("push", "logs", cwd=a)
    ferry("pull", "logs", cwd=b)
    (b / "data/logs/x.log").unlink()
    write(b, "data/logs/y.log", "new")
    ferry("push", "logs", cwd=b)

    @contextmanager
    def progress(name):  # type: ignore[no-untyped-def]
        def on_file(size: int) -> None:  # training appends to x.log while the sync runs
            with open(a / "data/logs/x.log", "a") as f:
                f.write(" + an hour of new log lines")

        yield None, on_file

    settings = load_settings({"endpoint_url": s3_server.url, "region": "us-east-1"}, cwd=a)
    result = run_workspace(
        find_workspace(a), "sync", settings, mappings=("logs",), progress=progress
    )
    assert (a / "data/logs/x.log").read_text().startswith("old + an hour")
    assert any(
        "changed after the sync looked at it" in m for _, m in result.outcomes[0].report.errors
    )


def test_sync_into_a_file_is_a_clear_error(bucket, ferry, raw, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw.put_object(Bucket=bucket, Key="p/a", Body=b"x")
    (tmp_path / "f").write_text("i am a file")
    assert "is a file" in ferry("sync", f"s3://{bucket}/p", str(tmp_path / "f"), code=3)


def test_sync_between_nested_prefixes_is_refused(bucket, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        raw.put_object(Bucket=bucket, Key=f"data/sub/f{i}", Body=b"x")
    out = ferry("sync", f"s3://{bucket}/data/sub", f"s3://{bucket}/data", "--delete", code=3)
    assert "overlap" in out
    assert len(keys(raw, bucket, "data/")) == 3


def test_a_file_written_after_the_scan_is_never_sent_under_its_old_checksum(
    tmp_path, bucket, raw, s3_server, dev_credentials, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The object was tagged with the checksum of the content scanned, but held the content
    # written since: another machine holding the old content then saw it 'identical'.
    from ferry.config import load_settings
    from ferry.sync.paths import sync_paths

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = load_settings({"endpoint_url": s3_server.url, "region": "us-east-1"})
    src, other, url = tmp_path / "src", tmp_path / "other", f"s3://{bucket}/data"
    write(src, "f.txt", "version-1")
    write(other, "f.txt", "version-1")

    def edit(plan) -> None:  # type: ignore[no-untyped-def]  # same size, after the scan
        (src / "f.txt").write_text("version-2")

    out = sync_paths(str(src), url, settings, on_plan=edit)
    assert any("changed after the sync looked at it" in m for _, m in out.report.errors)
    if keys(raw, bucket, "data/"):  # sent after all: then never under the old checksum
        pulled = sync_paths(url, str(other), settings)
        assert pulled.report.errors == []
        assert (other / "f.txt").read_text() != "version-1"
    sync_paths(str(src), url, settings)  # nothing writes to it now: sent
    sync_paths(url, str(other), settings)
    assert (other / "f.txt").read_text() == "version-2"


@pytest.mark.parametrize("others", [0, 3], ids=["checked-one-by-one", "checked-by-relisting"])
def test_a_teammates_version_pushed_during_the_sync_is_never_deleted(
    tmp_path, bucket, ferry, raw, s3_server, others
) -> None:  # type: ignore[no-untyped-def]
    # A deleted m.bin locally; while A's sync uploaded another file, B pushed a new m.bin.
    # The deletes ran after the transfers, on the listing taken before: B's version went.
    # (A few deletes are checked one by one, many by listing the mapping again.)
    from ferry.config import load_settings
    from ferry.sync import find_workspace, run_workspace

    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/models/m.bin", "v1")
    for i in range(others):
        write(a, f"data/models/old-{i}.bin", "old")
    ferry("push", "models", cwd=a)
    (a / "data/models/m.bin").unlink()
    for i in range(others):
        (a / f"data/models/old-{i}.bin").unlink()
    write(a, "data/models/other.bin", "new here")

    @contextmanager
    def progress(name):  # type: ignore[no-untyped-def]
        def on_file(size: int) -> None:  # B pushes its retrained model meanwhile
            raw.put_object(Bucket=bucket, Key="team/models/m.bin", Body=b"v2 by b")

        yield None, on_file

    settings = load_settings({"endpoint_url": s3_server.url, "region": "us-east-1"}, cwd=a)
    result = run_workspace(
        find_workspace(a), "sync", settings, mappings=("models",), progress=progress
    )
    body = raw.get_object(Bucket=bucket, Key="team/models/m.bin")["Body"].read()
    assert body == b"v2 by b"
    assert any("changed in the bucket" in m for _, m in result.outcomes[0].report.errors)
    assert keys(raw, bucket, "team/models/") == ["team/models/m.bin", "team/models/other.bin"]
    ferry("sync", "models", cwd=a)  # the next sync brings B's version here
    assert (a / "data/models/m.bin").read_text() == "v2 by b"


class _SavedAgainWhileSent:
    """A store that is the real one, except that ``file`` is saved again (same size, new
    bytes) as each send begins: after the sync's last check of the file, before the
    bytes go out. A race no server can produce; a store wrapped around the real one, as
    a user's own store would be, not a patch of ferry's code."""

    def __init__(self, store: Any, file: Path) -> None:
        self.store, self.file = store, file

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def put(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.file.write_text("version-2")
        return self.store.put(key, *args, **kwargs)

    def put_file(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.file.write_text("version-2")
        return self.store.put_file(key, *args, **kwargs)


def test_a_file_saved_again_while_it_is_sent_never_goes_out_under_its_old_checksum(
    tmp_path, bucket, raw, s3_server, dev_credentials, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The writer saved the file again (same size) between the last check and the read: the
    # object held the new bytes under the old checksum, was reported 'changed while sent',
    # and left so: a machine holding the old bytes pulled it as 'identical', no error.
    from ferry.config import load_settings
    from ferry.storage import open_store
    from ferry.sync.paths import sync_paths
    from ferry.sync.run import sync_folder
    from ferry.sync.workspace import Mapping

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = load_settings({"endpoint_url": s3_server.url, "region": "us-east-1"})
    src, other, url = tmp_path / "src", tmp_path / "other", f"s3://{bucket}/data"
    write(src, "f.txt", "version-1")
    write(other, "f.txt", "version-1")

    racing = _SavedAgainWhileSent(open_store(url, settings=settings), src / "f.txt")
    mapping = Mapping("data", str(src), "data", "push")
    sync_folder(src, racing, mapping, "push", state_path=tmp_path / "race.json", origin="race")
    pulled = sync_paths(url, str(other), settings)
    assert pulled.report.errors == []
    there = raw.get_object(Bucket=bucket, Key="data/f.txt")["Body"].read()
    assert (other / "f.txt").read_bytes() == there
    sync_paths(str(src), url, settings)  # nothing writes to it now: sent
    sync_paths(url, str(other), settings)
    assert (other / "f.txt").read_text() == "version-2"
