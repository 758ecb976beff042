"""Issue #8: a recursive command means the folder it names, and says what it does.

``ferry rm -r s3://b/runs/run-1`` deletes ``runs/run-1`` and ``runs/run-1/...``, never
``runs/run-10/...``; the same rule holds for ``ls -r`` and ``cp -r``. A dry run lists every
key. Commands that find nothing where the user surely meant something say so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from ferry.devserver import DEV_CREDENTIALS, LocalS3Server

KEYS = ["runs/run-1", "runs/run-1/a.txt", "runs/run-1/b/c.txt", "runs/run-10/x.txt", "runs/run-1x"]


@pytest.fixture
def raw(s3_server: LocalS3Server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def filled(raw, bucket: str) -> str:  # type: ignore[no-untyped-def]
    for key in KEYS:
        raw.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def left(raw, bucket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_rm_r_deletes_the_folder_named_never_a_sibling_with_a_longer_name(
    run,
    raw,
    filled: str,  # type: ignore[no-untyped-def]
) -> None:
    out = run("rm", "-r", f"s3://{filled}/runs/run-1")
    assert "deleted 3 object(s)" in out
    assert left(raw, filled) == ["runs/run-10/x.txt", "runs/run-1x"]


def test_a_dry_run_lists_each_key_it_would_delete_and_deletes_none(
    run,
    raw,
    filled: str,  # type: ignore[no-untyped-def]
) -> None:
    for flag in ("--dryrun", "--dry-run"):
        out = run("rm", "-r", flag, f"s3://{filled}/runs/run-1/")
        lines = [line for line in out.splitlines() if line.startswith("(dryrun) delete:")]
        assert lines == [
            f"(dryrun) delete: s3://{filled}/runs/run-1/a.txt",
            f"(dryrun) delete: s3://{filled}/runs/run-1/b/c.txt",
        ]
    assert left(raw, filled) == sorted(KEYS)


def test_ls_r_and_cp_r_follow_the_same_rule(run, filled: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = run("ls", "-r", f"s3://{filled}/runs/run-1")
    assert "run-10" not in listed and "run-1x" not in listed
    assert "runs/run-1/b/c.txt" in listed
    run("cp", "-r", f"s3://{filled}/runs/run-1", str(tmp_path / "copy"))
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["a.txt", "b", "b/c.txt"]


def test_commands_that_find_nothing_say_so_and_fail(run, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = run("ls", "demo", code=5)
    assert "s3://demo" in out  # the likely meaning, named
    assert "Nothing at" in run("ls", f"s3://{bucket}/no/such/prefix/", code=5)
    assert "Nothing at" in run("rm", "-r", f"s3://{bucket}/no/such/prefix", code=5)


def test_rm_incomplete_aborts_unfinished_uploads_below_the_prefix(
    run,
    raw,
    bucket: str,  # type: ignore[no-untyped-def]
) -> None:
    raw.create_multipart_upload(Bucket=bucket, Key="big/model.bin")
    raw.create_multipart_upload(Bucket=bucket, Key="elsewhere/model.bin")
    out = run("rm", "--incomplete", "--dryrun", f"s3://{bucket}/big/")
    assert "(dryrun) abort: s3://" in out and "would abort 1" in out
    assert len(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 2
    run("rm", "--incomplete", f"s3://{bucket}/big/")
    remaining = raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in remaining] == ["elsewhere/model.bin"]


def test_a_killed_cp_of_a_large_file_is_cleaned_up_by_the_next_cp(
    raw,
    bucket: str,
    s3_server: LocalS3Server,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    big = tmp_path / "model.bin"
    big.write_bytes(os.urandom(96 * 1024 * 1024))
    env = {**os.environ, **DEV_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server.url}
    env["FERRY_REGION"] = "us-east-1"
    ferry = str(Path(sys.executable).parent / "ferry")
    url = f"s3://{bucket}/models/model.bin"

    def uploads() -> list[str]:
        return [u["Key"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]

    process = subprocess.Popen([ferry, "cp", str(big), url], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not uploads() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "cp finished before it could be killed"
    assert uploads() == ["models/model.bin"]  # the killed upload's parts are billed
    done = subprocess.run([ferry, "cp", str(big), url], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert uploads() == []
    assert raw.head_object(Bucket=bucket, Key="models/model.bin")["ContentLength"] == 96 * 2**20
