"""Regression tests for a review's findings on the storage commands."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from ferry.devserver import LocalS3Server


@pytest.fixture
def raw(s3_server: LocalS3Server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def keys(raw, bucket: str, prefix: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    pages = raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def test_mv_onto_itself_is_refused_and_deletes_nothing(bucket: str, run, raw) -> None:  # type: ignore[no-untyped-def]
    raw.put_object(Bucket=bucket, Key="model.bin", Body=b"weights")
    raw.put_object(Bucket=bucket, Key="data/x", Body=b"1")
    assert "onto itself" in run(
        "mv", f"s3://{bucket}/model.bin", f"s3://{bucket}/model.bin", code=3
    )
    assert "onto itself" in run("mv", "-r", f"s3://{bucket}/data", f"s3://{bucket}/data/", code=3)
    assert keys(raw, bucket) == ["data/x", "model.bin"]


def test_mv_into_its_own_subfolder_is_refused_and_loses_nothing(bucket: str, run, raw) -> None:  # type: ignore[no-untyped-def]
    # a/x would be moved onto a/sub/x, itself a source moved (and then deleted): one of
    # the two versions was lost and the move reported success.
    raw.put_object(Bucket=bucket, Key="a/x", Body=b"A")
    raw.put_object(Bucket=bucket, Key="a/sub/x", Body=b"B")
    for verb in ("mv", "cp"):
        out = run(verb, "-r", f"s3://{bucket}/a/", f"s3://{bucket}/a/sub/", code=3)
        assert "also a source" in out
    assert keys(raw, bucket) == ["a/sub/x", "a/x"]
    assert raw.get_object(Bucket=bucket, Key="a/sub/x")["Body"].read() == b"B"


def test_rm_incomplete_keeps_to_the_folder_named(bucket: str, run, raw) -> None:  # type: ignore[no-untyped-def]
    raw.create_multipart_upload(Bucket=bucket, Key="runs/run-10/ckpt.pt")
    raw.create_multipart_upload(Bucket=bucket, Key="runs/run-1/ckpt.pt")
    run("rm", "--incomplete", f"s3://{bucket}/runs/run-1")
    left = [u["Key"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    assert left == ["runs/run-10/ckpt.pt"]


def test_rm_r_and_rb_force_delete_odd_keys_and_folder_markers(bucket: str, run, raw) -> None:  # type: ignore[no-untyped-def]
    for key in ("runs/a//b", "runs/x/./y", "runs/run-1/", "runs/run-1/a"):
        raw.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else b"x")
    run("rm", "-r", f"s3://{bucket}/runs/")
    assert keys(raw, bucket) == []
    raw.put_object(Bucket=bucket, Key="z/./w", Body=b"x")
    run("rb", "--force", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in raw.list_buckets()["Buckets"]]


def test_rm_of_an_object_the_configured_key_cannot_read(bucket: str, run, raw, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    raw.put_object(Bucket=bucket, Key="old.txt", Body=b"plain")
    raw.put_object(Bucket=bucket, Key="older.txt", Body=b"plain")
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(os.urandom(32)).decode())
    run("rm", f"s3://{bucket}/old.txt")
    run("rm", "-r", f"s3://{bucket}/older.txt")
    assert keys(raw, bucket) == []


def test_a_full_disk_mid_download_is_a_clear_error(
    bucket: str, raw, s3_server: LocalS3Server, tmp_path: Path, dev_credentials: None
) -> None:
    raw.put_object(Bucket=bucket, Key="big", Body=os.urandom(3 * 1024 * 1024))
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024*1024, 1024*1024))\n"
        "from ferry.cli.main import main\n"
        f"sys.argv=['ferry','--endpoint-url','{s3_server.url}','--region','us-east-1','cp',"
        f"'s3://{bucket}/big','{tmp_path}/big']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 16, done.stderr
    assert "File too large" in done.stderr and "bug" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no half-written file
