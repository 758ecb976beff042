"""ferry ls / cp / rm / config show through click's runner, against the local S3 server."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.errors import BucketNotFoundError, ConfigError


def test_cp_up_ls_and_cp_down_a_file(run, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(5000))
    run("cp", str(source), f"s3://{bucket}/models/")
    listing = run("ls", "-H", f"s3://{bucket}/models/")
    assert "4.9 KiB weights.bin" in listing
    assert "PRE models/" in run("ls", f"s3://{bucket}/")
    run("cp", f"s3://{bucket}/models/weights.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()


def test_recursive_copy_both_ways_and_recursive_rm(run, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "logs"
    for i in range(30):
        (folder / f"run{i % 3}").mkdir(parents=True, exist_ok=True)
        (folder / f"run{i % 3}" / f"{i}.json").write_text(json.dumps({"step": i}))
    out = run("cp", "-r", "--json", str(folder), f"s3://{bucket}/logs")
    assert json.loads(out)["files"] == 30
    listed = json.loads(run("ls", "-r", "--json", f"s3://{bucket}/logs/"))
    assert len(listed["objects"]) == 30
    run("cp", "-r", f"s3://{bucket}/logs", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "run1" / "4.json").read_text() == '{"step": 4}'
    assert "would delete 30" in run("rm", "-r", "--dryrun", f"s3://{bucket}/logs/")
    assert "deleted 30" in run("rm", "-r", f"s3://{bucket}/logs/")
    assert "Nothing at" in run("ls", "-r", "--json", f"s3://{bucket}/logs/", code=5)  # as aws


def test_errors_are_one_line_with_a_distinct_exit_code(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = run("ls", "s3://no-such-bucket-anywhere/", code=BucketNotFoundError.exit_code)
    assert out.startswith("error: Bucket 'no-such-bucket-anywhere' does not exist")
    assert out.count("\n") == 1
    out = run("--region", "Frankfurt", "ls", "s3://x-bucket/", code=ConfigError.exit_code)
    assert "eu-central-1" in out
    assert "without s3://" in run("ls", "s3://s3://bucket/", code=ConfigError.exit_code)


def test_rm_of_a_missing_object_is_an_error(run, bucket: str) -> None:  # type: ignore[no-untyped-def]
    out = run("rm", f"s3://{bucket}/not-there.txt", code=5)
    assert "No object at" in out


def test_config_show_says_where_each_setting_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("FERRY_SSE_C_KEY", key)
    monkeypatch.setenv("FERRY_CONCURRENCY", "7")
    result = CliRunner().invoke(cli, ["--region", "eu-west-1", "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["region"] == {"value": "eu-west-1", "source": "argument"}
    assert shown["concurrency"] == {"value": "7", "source": "env FERRY_CONCURRENCY"}
    assert shown["sse_c_key"]["value"] == "<redacted>"
    assert key not in result.output


def test_no_sign_request_reads_a_public_bucket_without_credentials(
    run, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # aws's --no-sign-request: unsigned requests, so no credentials are looked for (ls
    # lists through boto3, cat reads and sync pulls through obstore).
    run("cp", __file__, f"s3://{bucket}/open/test.py")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert "No AWS credentials" in run("ls", f"s3://{bucket}/open/", code=4)
    assert "test.py" in run("--no-sign-request", "ls", f"s3://{bucket}/open/")
    assert "no_sign_request" in run("--no-sign-request", "cat", f"s3://{bucket}/open/test.py")
    run("--no-sign-request", "sync", f"s3://{bucket}/open", str(tmp_path / "here"))
    assert (tmp_path / "here" / "test.py").read_text() == Path(__file__).read_text()
    monkeypatch.setenv("FERRY_NO_SIGN_REQUEST", "true")
    assert "test.py" in run("ls", f"s3://{bucket}/open/")
