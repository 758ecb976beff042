"""Issue #8: no surprise deletions. Each case through the real CLI against the local server.

A two-way mapping deletes only what its last state proves was synced and then deleted on
the other side; a mirror (pull-only) mapping asks before deleting what no sync has seen.
"""

from __future__ import annotations

from pathlib import Path

from tests.sync.conftest import keys, report, workspace, write


def test_two_way_push_never_deletes_an_object_no_sync_has_seen(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/models/mine.pkl", "mine")
    raw.put_object(Bucket=bucket, Key="team/models/teammate.pkl", Body=b"theirs")
    done = report(ferry("push", "models", "--json", cwd=a))
    assert done["models"]["deleted_remote"] == 0 and done["models"]["uploaded"] == 1
    assert keys(raw, bucket) == ["team/models/mine.pkl", "team/models/teammate.pkl"]
    assert done["models"]["pending"] == [["teammate.pkl", "waiting to be pulled"]]


def test_two_way_pull_keeps_a_new_local_file_and_says_it_waits_to_be_pushed(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(Bucket=bucket, Key="team/logs/remote.txt", Body=b"r")
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/fresh.txt", "new here")
    out = ferry("pull", "logs", cwd=a)
    assert (a / "data/logs/fresh.txt").read_text() == "new here"
    assert (a / "data/logs/remote.txt").read_text() == "r"
    assert "1 waiting to be pushed: fresh.txt" in out


def test_with_no_state_a_two_way_mapping_deletes_nothing_either_way(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    for i in range(20):
        write(a, f"data/checkpoints/local{i}.pt", str(i))
        raw.put_object(Bucket=bucket, Key=f"team/checkpoints/remote{i}.pt", Body=b"x")
    for mode in ("push", "pull", "sync"):
        (a / ".ferry").exists() and __import__("shutil").rmtree(a / ".ferry")  # state lost
        done = report(ferry(mode, "checkpoints", "--json", cwd=a))["checkpoints"]
        assert done["deleted_remote"] == done["deleted_local"] == 0, mode
    assert len(list((a / "data/checkpoints").iterdir())) == 40
    assert len(keys(raw, bucket)) == 40


def test_a_file_deleted_here_after_a_sync_is_deleted_there_by_push(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/logs/old.txt", "old")
    write(a, "data/logs/keep.txt", "keep")
    ferry("push", "logs", cwd=a)
    (a / "data/logs/old.txt").unlink()
    assert report(ferry("push", "logs", "--json", cwd=a))["logs"]["deleted_remote"] == 1
    assert keys(raw, bucket) == ["team/logs/keep.txt"]


def test_a_mirror_pull_asks_before_deleting_files_it_never_synced(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(Bucket=bucket, Key="team/cached-datasets/train.parquet", Body=b"truth")
    a = workspace(tmp_path / "a", bucket, ferry)
    write(a, "data/cached_datasets/notes.md", "my notes")
    out = ferry("pull", "cached-datasets", code=3, cwd=a)
    assert "no earlier sync of it has seen (notes.md)" in out
    assert (a / "data/cached_datasets/notes.md").exists()
    assert not (a / "data/cached_datasets/train.parquet").exists()  # nothing was done
    ferry("pull", "cached-datasets", "--yes", cwd=a)
    assert not (a / "data/cached_datasets/notes.md").exists()
