"""Cases found in review: stale state, re-pointed mappings, symlinked folders, folder
markers, malformed keys, and a dry run that must not touch a running sync's files."""

from __future__ import annotations

import json
from pathlib import Path


def make(tmp_path: Path, bucket: str, ferry) -> Path:  # type: ignore[no-untyped-def]
    ws = tmp_path / "ws"
    ws.mkdir()
    ferry("init", f"s3://{bucket}/team", "--dir", str(ws), cwd=tmp_path)
    return ws


def test_a_path_deleted_on_both_sides_is_forgotten(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
    raw,
) -> None:
    ws = make(tmp_path, bucket, ferry)
    (ws / "data/logs/p.txt").write_text("v1")
    ferry("sync", "logs", cwd=ws)
    (ws / "data/logs/p.txt").unlink()
    raw.delete_object(Bucket=bucket, Key="team/logs/p.txt")
    ferry("sync", "logs", cwd=ws)
    raw.put_object(Bucket=bucket, Key="team/logs/p.txt", Body=b"a colleague's new file")
    ferry("sync", "logs", cwd=ws)  # must fetch it, not delete it as "deleted here"
    assert (ws / "data/logs/p.txt").read_text() == "a colleague's new file"


def test_a_re_pointed_mapping_starts_afresh(tmp_path: Path, bucket: str, ferry) -> None:  # type: ignore[no-untyped-def]
    ws = make(tmp_path, bucket, ferry)
    for i in range(5):
        (ws / f"data/models/m{i}.bin").write_text(str(i))
    ferry("sync", "models", cwd=ws)
    toml = ws / "ferry.toml"
    toml.write_text(toml.read_text().replace('remote = "models"', 'remote = "models-v2"'))
    out = json.loads(ferry("sync", "models", "--json", cwd=ws))
    assert out[0]["uploaded"] == 5 and out[0]["deleted_local"] == 0
    assert len(list((ws / "data/models").iterdir())) == 5


def test_a_pull_never_writes_through_a_symlinked_folder(
    tmp_path: Path,
    bucket: str,
    ferry,  # type: ignore[no-untyped-def]
    raw,
) -> None:
    ws = make(tmp_path, bucket, ferry)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("precious")
    (ws / "data/logs/big").symlink_to(outside)
    raw.put_object(Bucket=bucket, Key="team/logs/big/x", Body=b"from the bucket")
    out = ferry("pull", "logs", cwd=ws, code=21)
    assert "symlink" in out
    assert (outside / "x").read_text() == "precious"


def test_folder_markers_are_ignored_and_unusable_keys_skipped(
    tmp_path: Path,
    bucket: str,  # type: ignore[no-untyped-def]
    ferry,
    raw,
) -> None:
    ws = make(tmp_path, bucket, ferry)
    raw.put_object(Bucket=bucket, Key="team/logs/dir/", Body=b"")
    raw.put_object(Bucket=bucket, Key="team/logs/dir/x.txt", Body=b"x")
    ferry("pull", "logs", cwd=ws)
    assert (ws / "data/logs/dir/x.txt").read_text() == "x"
    assert json.loads(ferry("status", "logs", "--json", cwd=ws))[0]["actions"] == []
    # Keys another tool wrote that cannot be file names: each reported and skipped, and the
    # rest of the pull completes (issue #8: never a crash).
    unusable = {
        "team/logs/a//b.txt": "not a valid relative key",
        "team/logs/c/./d.txt": "not a valid relative key",
        "team/logs/" + "n" * 300: "longer than 255 bytes",
        "team/logs/clash": "a file and a folder of the same name",
        "team/logs/tab\there.txt": "control character",
    }
    for key in unusable:
        raw.put_object(Bucket=bucket, Key=key, Body=b"odd")
    raw.put_object(Bucket=bucket, Key="team/logs/clash/inner.txt", Body=b"in")
    raw.put_object(Bucket=bucket, Key="team/logs/fine.txt", Body=b"fine")
    out = ferry("pull", "logs", cwd=ws, code=21)
    for key, reason in unusable.items():
        line = next(line for line in out.splitlines() if key.removeprefix("team/logs/") in line)
        assert line.startswith("error: logs:") and reason in line and "skipped" in line
    assert (ws / "data/logs/fine.txt").read_text() == "fine"
    assert (ws / "data/logs/clash/inner.txt").read_text() == "in"
    assert "Traceback" not in out


def test_a_dry_run_leaves_temporary_files_alone(tmp_path: Path, bucket: str, ferry) -> None:  # type: ignore[no-untyped-def]
    ws = make(tmp_path, bucket, ferry)
    temp = ws / "data/logs/.x.txt.ferry-tmp-0123456789ab"
    temp.write_text("a running download")
    lookalike = ws / "data/logs/notes.ferry-tmp-story.txt"
    lookalike.write_text("the user's own file")
    ferry("status", cwd=ws)
    assert temp.exists()
    ferry("push", "logs", cwd=ws)
    assert not temp.exists() and lookalike.exists()
