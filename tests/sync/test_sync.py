"""ferry init / push / pull / sync / status against the local S3 server, as a user runs them."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ferry.cli.sync_cmds import EXIT_CONFLICTS
from tests.sync.conftest import keys, report, workspace, write


def test_push_then_pull_elsewhere_then_nothing_to_do(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
    raw,
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    for i in range(30):
        write(a, f"data/logs/run{i % 3}/step{i}.json", f'{{"loss": {i}}}')
    write(a, "data/models/model.pkl", os.urandom(200_000))
    pushed = report(ferry("push", "--json", cwd=a))
    assert pushed["logs"]["uploaded"] == 30 and pushed["models"]["uploaded"] == 1
    assert pushed["cached-datasets"]["direction"] == "skipped (pull-only)"
    assert len(keys(raw, bucket)) == 31

    b = workspace(tmp_path / "b", bucket, ferry)
    pulled = report(ferry("pull", "--json", cwd=b))
    assert pulled["logs"]["downloaded"] == 30
    assert (b / "data/models/model.pkl").read_bytes() == (a / "data/models/model.pkl").read_bytes()
    again = report(ferry("sync", "--json", cwd=b))
    assert all(r["uploaded"] == r["downloaded"] == 0 for r in again.values())
    assert again["logs"]["skipped"] == 30


def test_a_same_size_edit_with_an_older_mtime_is_sent(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
    raw,
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    path = write(a, "data/logs/metrics.json", "value=1")
    ferry("push", "logs", cwd=a)
    before = path.stat()
    path.write_text("value=2")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))  # an older mtime
    assert report(ferry("push", "logs", "--json", cwd=a))["logs"]["uploaded"] == 1
    body = raw.get_object(Bucket=bucket, Key="team/logs/metrics.json")["Body"].read()
    assert body == b"value=2"


def test_uploads_are_sse_c_encrypted_and_intelligently_tiered(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    key = os.urandom(32)
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(key).decode())
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/models/small.bin", b"x" * 100)
    write(a, "data/models/large.bin", os.urandom(70 * 1024 * 1024))  # multipart (> 64 MiB)
    ferry("push", "models", cwd=a)
    for name in ("small.bin", "large.bin"):
        with pytest.raises(ClientError):
            raw.head_object(Bucket=bucket, Key=f"team/models/{name}")
        head = raw.head_object(
            Bucket=bucket,
            Key=f"team/models/{name}",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=key,
        )
        assert head["StorageClass"] == "INTELLIGENT_TIERING"
    b = workspace(tmp_path / "b", bucket, ferry)
    ferry("pull", "models", cwd=b)
    assert (b / "data/models/large.bin").read_bytes() == (a / "data/models/large.bin").read_bytes()


def test_a_local_clean_up_then_push_cleans_the_bucket_with_a_guard(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    for i in range(30):
        write(a, f"data/checkpoints/ckpt{i}.json", str(i))
    ferry("push", "checkpoints", cwd=a)
    for i in range(25):
        (a / f"data/checkpoints/ckpt{i}.json").unlink()
    out = ferry("push", "checkpoints", code=3, cwd=a)
    assert "would delete 25 of the 30 files in the bucket" in out and "--yes" in out
    assert len(keys(raw, bucket)) == 30  # nothing was deleted
    done = report(ferry("push", "checkpoints", "--yes", "--json", cwd=a))
    assert done["checkpoints"]["deleted_remote"] == 25
    assert keys(raw, bucket) == [f"team/checkpoints/ckpt{i}.json" for i in range(25, 30)]


def test_pull_only_data_is_never_pushed_and_local_edits_are_replaced(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(Bucket=bucket, Key="team/cached-datasets/train.parquet", Body=b"truth")
    a = workspace(tmp_path / "a", bucket, ferry)
    ferry("pull", "cached-datasets", cwd=a)
    write(a, "data/cached_datasets/train.parquet", "local edit")
    write(a, "data/cached_datasets/scratch.parquet", "local only")
    ferry("push", cwd=a)
    assert keys(raw, bucket) == ["team/cached-datasets/train.parquet"]
    refused = ferry("sync", code=3, cwd=a)  # scratch.parquet was never synced: ask first
    assert "1 file(s) in the local folder that no earlier sync of it has seen" in refused
    assert "scratch.parquet" in refused
    assert (a / "data/cached_datasets/scratch.parquet").exists()
    ferry("sync", "--yes", cwd=a)
    assert (a / "data/cached_datasets/train.parquet").read_text() == "truth"
    assert not (a / "data/cached_datasets/scratch.parquet").exists()


def test_nothing_is_deleted_when_the_listing_fails(tmp_path: Path, bucket: str, ferry) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a"
    a.mkdir()
    ferry("init", "s3://bucket-that-does-not-exist/team", "--dir", str(a))
    write(a, "data/cached_datasets/keep.parquet", "precious")
    out = ferry("pull", cwd=a, code=5)
    assert "does not exist" in out
    assert (a / "data/cached_datasets/keep.parquet").read_text() == "precious"


def test_keys_that_would_land_outside_the_folder_are_refused(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(Bucket=bucket, Key="team/logs/../../escape.txt", Body=b"evil")
    a = workspace(tmp_path / "a", bucket, ferry)
    out = ferry("pull", "logs", cwd=a, code=21)  # reported and skipped, never written
    assert "../../escape.txt: skipped: is not a valid relative key" in out
    assert not (tmp_path / "escape.txt").exists() and not (a / "escape.txt").exists()


def test_symlinks_are_skipped_and_reported(tmp_path: Path, bucket: str, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/real.txt", "real")
    (a / "data/logs/link.txt").symlink_to(a / "data/logs/real.txt")
    (a / "data/logs/linked-dir").symlink_to(tmp_path)
    done = report(ferry("push", "logs", "--json", cwd=a))
    assert sorted(done["logs"]["symlinks"]) == ["link.txt", "linked-dir"]
    assert keys(raw, bucket) == ["team/logs/real.txt"]


def test_conflicts_follow_the_mapping_rule_or_are_left_with_their_exit_code(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    b = workspace(tmp_path / "b", bucket, ferry)
    write(a, "data/logs/shared.txt", "base")
    ferry("sync", "logs", cwd=a)
    ferry("sync", "logs", cwd=b)
    write(a, "data/logs/shared.txt", "from a")
    ferry("sync", "logs", cwd=a)
    write(b, "data/logs/shared.txt", "from b")
    done = report(ferry("sync", "logs", "--json", cwd=b))  # logs: local-wins
    assert done["logs"]["resolved"] == [
        ["shared.txt", "changed on both sides; local wins (local-wins)"]
    ]
    toml = (a / "ferry.toml").read_text().replace('conflict = "local-wins"', 'conflict = "manual"')
    (a / "ferry.toml").write_text(toml)
    write(a, "data/logs/shared.txt", "from a, again")
    out = ferry("sync", "logs", cwd=a, code=EXIT_CONFLICTS)
    assert "conflict: logs: shared.txt: changed on both sides" in out
    assert (a / "data/logs/shared.txt").read_text() == "from a, again"


def test_dry_run_and_status_change_nothing(tmp_path: Path, bucket: str, ferry, raw) -> None:  # type: ignore[no-untyped-def]
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/a.txt", "a")
    assert "logs\tupload\ta.txt\tnew here\n" in ferry("push", "--dry-run", cwd=a)
    status = json.loads(ferry("status", "--json", cwd=a))
    assert {
        "mapping": "logs",
        "direction": "both",
        "identical": 0,
        "actions": [{"path": "a.txt", "action": "upload", "reason": "new here", "size": 1}],
        "pending": [],
        "refusal": "",
    } in status
    assert keys(raw, bucket) == []


def test_push_of_a_missing_folder_refuses_rather_than_emptying_the_bucket(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    (a / "data/models").rmdir()
    out = ferry("push", "models", cwd=a, code=3)
    assert "does not exist" in out and "mkdir -p" in out
