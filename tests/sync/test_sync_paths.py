"""``ferry sync SRC DST`` (issue #12): the aws form, content-exact by default, nothing deleted
without --delete; and per-mapping ``exclude``/``include`` in ferry.toml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sync.conftest import keys, report, write


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def test_local_to_s3_then_a_same_size_edit_with_an_older_mtime_is_caught(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    src = tmp_path / "src"
    for i in range(5):
        write(src, f"d{i % 2}/f{i}.txt", f"v{i}")
    url = f"s3://{bucket}/dst"
    assert report(ferry("sync", str(src), url, "--json"))["src"]["uploaded"] == 5
    assert report(ferry("sync", str(src), url, "--json"))["src"]["uploaded"] == 0
    path = src / "d0/f0.txt"
    before = path.stat()
    path.write_text("V0")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))  # an older mtime
    assert report(ferry("sync", str(src), url, "--json", "--size-only"))["src"]["uploaded"] == 0
    assert report(ferry("sync", str(src), url, "--json"))["src"]["uploaded"] == 1
    assert raw.get_object(Bucket=bucket, Key="dst/d0/f0.txt")["Body"].read() == b"V0"


def test_nothing_is_deleted_without_delete_and_the_guard_still_holds(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    src = tmp_path / "src"
    write(src, "keep.txt", "k")
    for i in range(20):
        raw.put_object(Bucket=bucket, Key=f"dst/extra{i}.txt", Body=b"x")
    url = f"s3://{bucket}/dst"
    ferry("sync", str(src), url)
    assert len(keys(raw, bucket, "dst/")) == 21  # kept: no --delete
    out = ferry("sync", str(src), url, "--delete", code=3)  # 20 of 21: too many
    assert "would delete 20 of the 21 files" in out
    ferry("sync", str(src), url, "--delete", "--yes")
    assert keys(raw, bucket, "dst/") == ["dst/keep.txt"]


def test_s3_to_local_pull_with_delete_and_filters(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    for name in ("a.csv", "b.csv", "c.log"):
        raw.put_object(Bucket=bucket, Key=f"data/{name}", Body=name.encode())
    dest = tmp_path / "dest"
    write(dest, "stale.csv", "old")
    ferry("sync", f"s3://{bucket}/data/", str(dest), "--exclude", "*.log", "--delete", "--yes")
    assert sorted(p.name for p in dest.iterdir()) == ["a.csv", "b.csv"]


def test_s3_to_s3_copies_server_side_and_a_rerun_has_nothing_to_do(
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(4):
        raw.put_object(Bucket=bucket, Key=f"a/f{i}", Body=str(i).encode())
    raw.put_object(Bucket=bucket, Key="b/extra", Body=b"x")
    first = report(ferry("sync", f"s3://{bucket}/a", f"s3://{bucket}/b", "--json"))
    assert first["b"]["uploaded"] == 4 and "b/extra" in keys(raw, bucket, "b/")
    again = report(ferry("sync", f"s3://{bucket}/a", f"s3://{bucket}/b", "--json", "--delete"))
    assert again["b"]["uploaded"] == 0 and again["b"]["deleted_remote"] == 1
    assert keys(raw, bucket, "b/") == [f"b/f{i}" for i in range(4)]


def test_sync_with_an_s3_url_takes_exactly_two_paths(ferry, bucket: str) -> None:  # type: ignore[no-untyped-def]
    assert "takes a source and a destination" in ferry("sync", f"s3://{bucket}/x", code=3)


def test_a_mistyped_source_changes_nothing_even_with_delete(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    # 'aws s3 sync s3://b/typo/ dir --delete' empties dir: a source with nothing there is
    # refused before anything is listed for deletion.
    here = tmp_path / "here"
    write(here, "keep.txt", "k")
    raw.put_object(Bucket=bucket, Key="dst/keep.txt", Body=b"k")
    out = ferry("sync", f"s3://{bucket}/typo", str(here), "--delete", "--yes", code=5)
    assert "Nothing at" in out and "nothing was changed" in out
    out = ferry("sync", f"s3://{bucket}/typo/", f"s3://{bucket}/dst/", "--delete", "--yes", code=5)
    assert "Nothing at" in out
    out = ferry("sync", str(tmp_path / "nope"), f"s3://{bucket}/dst", "--delete", "--yes", code=5)
    assert "No folder at" in out
    out = ferry("sync", str(here / "keep.txt"), f"s3://{bucket}/dst", code=3)
    assert "is a file" in out
    assert (here / "keep.txt").read_text() == "k"
    assert keys(raw, bucket, "dst/") == ["dst/keep.txt"]


def test_two_local_folders_outside_a_workspace_are_refused(tmp_path: Path, ferry) -> None:  # type: ignore[no-untyped-def]
    out = ferry("sync", str(tmp_path / "a"), str(tmp_path / "b"), code=3, cwd=tmp_path)
    assert "Neither" in out and "rsync" in out


def test_two_mapping_names_in_a_broken_workspace_show_its_error(tmp_path: Path, ferry) -> None:  # type: ignore[no-untyped-def]
    # 'ferry sync logs models' in a workspace whose ferry.toml has a mistake said there was
    # no workspace here at all (and suggested rsync), hiding the mistake to fix.
    (tmp_path / "ferry.toml").write_text('[workspace]\nremote_root = "s3://b/team"\nmapings = []\n')
    out = ferry("sync", "logs", "models", code=3, cwd=tmp_path)
    assert "mapings" in out and "Neither" not in out


def test_mapping_exclude_and_include_in_ferry_toml(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    ws = tmp_path / "ws"
    write(
        ws,
        "ferry.toml",
        f'[workspace]\nremote_root = "s3://{bucket}/team"\n\n[[workspace.mapping]]\n'
        'name = "checkpoints"\nlocal = "ckpt"\nremote = "checkpoints"\n'
        'exclude = ["*.tmp", "scratch/*"]\ninclude = ["scratch/keep.pt"]\n',
    )
    for name in ("a.pt", "b.tmp", "scratch/x.pt", "scratch/keep.pt"):
        write(ws, f"ckpt/{name}", name)
    ferry("push", cwd=ws)
    assert keys(raw, bucket) == ["team/checkpoints/a.pt", "team/checkpoints/scratch/keep.pt"]
    (ws / "ckpt/b.tmp").unlink()  # an excluded file is never deleted remotely either
    raw.put_object(Bucket=bucket, Key="team/checkpoints/remote.tmp", Body=b"r")
    ferry("pull", cwd=ws)
    assert not (ws / "ckpt/remote.tmp").exists()


def test_resolve_settles_a_manual_conflict_either_way(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    from ferry.cli.sync_cmds import EXIT_CONFLICTS

    ws = tmp_path / "ws"
    write(
        ws,
        "ferry.toml",
        f'[workspace]\nremote_root = "s3://{bucket}/team"\n\n[[workspace.mapping]]\n'
        'name = "notes"\nlocal = "notes"\nremote = "notes"\nconflict = "manual"\n',
    )
    write(ws, "notes/a.txt", "base")
    write(ws, "notes/b.txt", "base")
    ferry("sync", cwd=ws)
    for name in ("a.txt", "b.txt"):
        write(ws, f"notes/{name}", "mine")
        raw.put_object(Bucket=bucket, Key=f"team/notes/{name}", Body=b"theirs")
    assert "changed on both sides" in ferry("sync", cwd=ws, code=EXIT_CONFLICTS)
    quiet = ferry("sync", "--quiet", cwd=ws, code=EXIT_CONFLICTS)  # still named
    assert "conflict: notes: a.txt" in quiet and "conflict: notes: b.txt" in quiet
    assert "the bucket's version" in ferry("resolve", "notes/a.txt", "--keep", "remote", cwd=ws)
    assert "the local version" in ferry("resolve", "notes/b.txt", "--keep", "local", cwd=ws)
    assert (ws / "notes/a.txt").read_text() == "theirs"
    assert raw.get_object(Bucket=bucket, Key="team/notes/b.txt")["Body"].read() == b"mine"
    done = report(ferry("sync", "--json", cwd=ws))["notes"]
    assert done["uploaded"] == done["downloaded"] == 0 and done["unresolved"] == []
    assert "not inside a mapped folder" in ferry(
        "resolve", "x.txt", "--keep", "local", cwd=ws, code=3
    )


def test_a_mistyped_source_makes_no_destination_folder(tmp_path: Path, bucket: str, ferry) -> None:  # type: ignore[no-untyped-def]
    # The refusal says 'nothing was changed', yet the pull had made the folder (and its
    # parents) before it found nothing at the source.
    out = ferry("sync", f"s3://{bucket}/typo", str(tmp_path / "new" / "dir"), code=5)
    assert "nothing was changed" in out
    assert not (tmp_path / "new").exists()


def test_s3_to_s3_with_filters_excluding_everything_lists_the_source_once(
    bucket: str,
    ferry,
    raw,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    # Nothing selected: the source was listed again, whole, to tell 'nothing there' from
    # 'nothing chosen' (a second full listing of a large prefix); one listing tells both.
    from ferry.storage.s3.store import S3Store

    raw.put_object(Bucket=bucket, Key="src/a.txt", Body=b"a")
    raw.put_object(Bucket=bucket, Key="dst/b.txt", Body=b"b")
    listed: list[str] = []
    real = S3Store.list

    def counted(self, prefix=""):  # type: ignore[no-untyped-def]
        listed.append(self.url)
        return real(self, prefix)

    monkeypatch.setattr(S3Store, "list", counted)
    ferry("sync", f"s3://{bucket}/src", f"s3://{bucket}/dst", "--exclude", "*", "--delete")
    assert listed.count(f"s3://{bucket}/src") == 1
    assert keys(raw, bucket, "dst/") == ["dst/b.txt"]
