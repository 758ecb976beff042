"""A sync killed with SIGKILL at any point, then run again, completes; no partial file
appears on either side and no multipart upload is left behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from ferry.devserver import DEV_CREDENTIALS, LocalS3Server

FERRY = Path(sys.executable).parent / "ferry"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FERRY), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def kill_midway(args: list[str], cwd: Path, env: dict[str, str], started) -> int:  # type: ignore[no-untyped-def]
    process = subprocess.Popen(
        [str(FERRY), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not started() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    return process.wait()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_kill_9_during_push_and_pull_then_rerun(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    env = {
        **os.environ,
        **DEV_CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_server.url,
        "FERRY_REGION": "us-east-1",
    }
    raw = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    a = tmp_path / "a"
    a.mkdir()
    assert run(["init", f"s3://{bucket}/team", "--dir", str(a)], a, env).returncode == 0
    files = {f"data/models/small{i:03d}.bin": os.urandom(20_000) for i in range(300)}
    # Above the multipart threshold (64 MiB): a killed push leaves a multipart upload.
    files |= {f"data/models/big{i}.bin": os.urandom(70 * 1024 * 1024) for i in range(2)}
    for rel, data in files.items():
        (a / rel).write_bytes(data)

    def objects() -> dict[str, int]:
        pages = raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="team/")
        return {o["Key"]: o["Size"] for p in pages for o in p.get("Contents", [])}

    def uploads() -> list[str]:
        return [u["UploadId"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]

    # Killed while a multipart upload is in flight: its parts are left behind.
    status = kill_midway(["push", "models"], a, env, lambda: bool(uploads()))
    assert status == -signal.SIGKILL, "push finished before it could be killed"
    assert uploads(), "the kill left no multipart upload: the recovery is not exercised"
    for key, size in objects().items():  # whatever is visible is whole
        assert size == len(files["data/models/" + key.removeprefix("team/models/")])
    assert run(["push", "models"], a, env).returncode == 0
    assert objects() == {f"team/models/{Path(r).name}": len(d) for r, d in files.items()}
    assert uploads() == []  # the rerun aborted the killed run's upload

    b = tmp_path / "b"
    b.mkdir()
    assert run(["init", f"s3://{bucket}/team", "--dir", str(b)], b, env).returncode == 0
    models = b / "data" / "models"
    visible = lambda: [p for p in models.iterdir() if not p.name.startswith(".")]  # noqa: E731
    status = kill_midway(["pull", "models"], b, env, lambda: len(visible()) >= 20)
    assert status == -signal.SIGKILL, "pull finished before it could be killed"
    for path in visible():  # whatever is visible is whole
        assert path.read_bytes() == files[f"data/models/{path.name}"]
    assert run(["pull", "models"], b, env).returncode == 0
    assert sorted(p.name for p in models.iterdir()) == sorted(Path(r).name for r in files)
    for rel in files:
        assert digest(b / rel) == digest(a / rel)


def test_a_run_marked_in_progress_aborts_the_uploads_it_began_and_no_one_elses(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    """The recovery path alone: the state says the last run died mid-way; the next run
    aborts the multipart uploads that run began (its large uploads, since it started),
    and leaves older ones and another writer's (a teammate's checkpoint) alone."""
    import json

    env = {**os.environ, **DEV_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server.url}
    env["FERRY_REGION"] = "us-east-1"
    raw = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    a = tmp_path / "a"
    a.mkdir()
    assert run(["init", f"s3://{bucket}/team", "--dir", str(a)], a, env).returncode == 0
    (a / "data/logs/x.txt").write_text("x")
    older = raw.create_multipart_upload(Bucket=bucket, Key="team/logs/other-writer.bin")
    time.sleep(1.1)  # S3 times uploads to the second
    since = time.time()
    time.sleep(1.1)
    orphan = raw.create_multipart_upload(Bucket=bucket, Key="team/logs/killed.bin")
    theirs = raw.create_multipart_upload(Bucket=bucket, Key="team/logs/b-machine/ckpt.pt")
    state = a / ".ferry" / "sync" / "logs.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    origin = f"{(a / 'data/logs').resolve()} <-> s3://{bucket}/team/logs"
    state.write_text(
        json.dumps(
            {
                "in_progress": True,
                "since": since,
                "origin": origin,
                "large_uploads": ["killed.bin"],
            }
        )
    )
    result = run(["push", "logs", "--json"], a, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["aborted_uploads"] == 1
    left = {u["UploadId"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    assert left == {older["UploadId"], theirs["UploadId"]} and orphan["UploadId"] not in left
