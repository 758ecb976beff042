"""Issue #12: the commands an ``aws s3`` user reaches for, against the local S3 server.

``--exclude``/``--include`` are checked against the aws CLI itself (in its own venv under
.tools/): the same rules select the same keys.
"""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest

from ferry.devserver import LocalS3Server, ensure_tool
from tests.conftest import TOOLS

TREE = [
    "a.csv",
    "a.txt",
    "logs/run1/x.csv",
    "logs/run1/x.log",
    "logs/run2/y.csv",
    "data/2026-11/part-0.parquet",
    "data/2026-12/part-0.parquet",
    "tmp/scratch.csv",
]
RULES = [
    ["--exclude", "*"],
    ["--exclude", "*", "--include", "*.csv"],
    ["--exclude", "*.csv"],
    ["--exclude", "*", "--include", "logs/*", "--exclude", "*.log"],
    ["--exclude", "tmp/*", "--exclude", "data/2026-1?/*", "--include", "data/2026-12/*"],
    ["--include", "*.csv"],  # includes alone change nothing
    ["--exclude", "*[12]/*"],
]


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


def tree(root: Path) -> Path:
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return root


def aws_selects(s3_server: LocalS3Server, source: str, dest: str, rules: list[str]) -> list[str]:
    """What ``aws s3 cp --recursive --dryrun`` would copy, as paths below the source."""
    aws = ensure_tool("awscli", ("awscli",), TOOLS) / "aws"
    env = {**os.environ, **s3_server.env()}
    out = subprocess.run(
        [str(aws), "s3", "cp", "--recursive", "--dryrun", source, dest, *rules],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return selected(out, source, dest)


def ferry_selects(run, source: str, dest: str, rules: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    return selected(run("cp", "-r", "--dryrun", source, dest, *rules), source, dest)


def selected(out: str, source: str, dest: str) -> list[str]:
    """The relative paths a dry run names, read from its S3 side ('(dryrun) op: A to B')."""
    s3 = source if source.startswith("s3://") else dest
    base = s3.rstrip("/") + "/"
    found = []
    for line in out.splitlines():
        sides = line.split(": ", 1)[1].split(" to ")
        found.append(next(side for side in sides if side.startswith(base))[len(base) :])
    return sorted(found)


@pytest.mark.parametrize("rules", RULES, ids=[" ".join(r) for r in RULES])
def test_exclude_and_include_select_what_the_aws_cli_selects(
    run,
    s3_server: LocalS3Server,
    bucket: str,
    raw,
    tmp_path: Path,
    rules: list[str],  # type: ignore[no-untyped-def]
) -> None:
    for rel in TREE:
        raw.put_object(Bucket=bucket, Key=f"src/{rel}", Body=rel.encode())
    source = f"s3://{bucket}/src"
    expected = aws_selects(s3_server, source, str(tmp_path / "out"), rules)
    assert ferry_selects(run, source, str(tmp_path / "out"), rules) == expected
    local = tree(tmp_path / "local")
    expected = aws_selects(s3_server, str(local), f"s3://{bucket}/up", rules)
    assert ferry_selects(run, str(local), f"s3://{bucket}/up", rules) == expected


def test_rm_r_and_ls_r_take_the_same_rules(run, bucket: str, raw) -> None:  # type: ignore[no-untyped-def]
    for rel in TREE:
        raw.put_object(Bucket=bucket, Key=f"src/{rel}", Body=b"x")
    listed = run("ls", "-r", f"s3://{bucket}/src/", "--exclude", "*", "--include", "*.csv")
    assert sorted(line.split()[-1] for line in listed.splitlines()) == sorted(
        f"src/{r}" for r in TREE if r.endswith(".csv")
    )
    run("rm", "-r", f"s3://{bucket}/src", "--exclude", "logs/*")
    assert keys(raw, bucket) == sorted(f"src/{r}" for r in TREE if r.startswith("logs/"))


def test_s3_to_s3_copy_is_server_side_with_each_sides_key(
    run,
    bucket: str,
    raw,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    key, other = os.urandom(32), os.urandom(32)
    raw.put_object(Bucket=bucket, Key="plain.bin", Body=b"plain", Metadata={"kind": "x"})
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(key).decode())
    out = run("cp", f"s3://{bucket}/plain.bin", f"s3://{bucket}/copy/", code=10)
    assert "not encrypted with SSE-C" in out  # the source needs its own (no) key
    run("cp", "--source-plain", f"s3://{bucket}/plain.bin", f"s3://{bucket}/copy/")
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    got = raw.get_object(Bucket=bucket, Key="copy/plain.bin", **sse)
    assert got["Body"].read() == b"plain" and got["Metadata"] == {"kind": "x"}
    # encrypted with another key at the source: --source-key-file names it
    raw.put_object(
        Bucket=bucket,
        Key="theirs.bin",
        Body=b"theirs",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=other,
    )
    key_file = tmp_path / "other.key"
    key_file.write_bytes(other)
    key_file.chmod(0o600)
    source = f"s3://{bucket}/theirs.bin"
    run("cp", "--source-key-file", str(key_file), source, f"s3://{bucket}/mine.bin")
    assert raw.get_object(Bucket=bucket, Key="mine.bin", **sse)["Body"].read() == b"theirs"


def test_cp_r_between_two_prefixes_and_mv_deletes_the_sources(
    run,
    bucket: str,
    raw,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    for rel in TREE:
        raw.put_object(Bucket=bucket, Key=f"src/{rel}", Body=rel.encode())
    run("cp", "-r", f"s3://{bucket}/src/", f"s3://{bucket}/copy/")
    assert keys(raw, bucket, "copy/") == sorted(f"copy/{r}" for r in TREE)
    out = run("mv", "-r", f"s3://{bucket}/copy/", f"s3://{bucket}/moved/", "--exclude", "tmp/*")
    assert "moved 7 file(s)" in out
    assert keys(raw, bucket, "copy/") == ["copy/tmp/scratch.csv"]
    local = tree(tmp_path / "local")
    run("mv", str(local / "a.txt"), f"s3://{bucket}/one/")
    assert not (local / "a.txt").exists() and keys(raw, bucket, "one/") == ["one/a.txt"]


def test_a_large_s3_to_s3_copy_goes_in_parts(
    bucket: str,
    s3_options,
    raw,  # type: ignore[no-untyped-def]
) -> None:
    from dataclasses import replace

    from ferry.storage.s3 import S3Store

    options = replace(s3_options, copy_threshold=6 * 2**20, copy_part_size=5 * 2**20)
    data = os.urandom(13 * 2**20)
    raw.put_object(Bucket=bucket, Key="big.bin", Body=data, Metadata={"ferry-xxh3-128": "abc"})
    store = S3Store(f"s3://{bucket}", options)
    copied = store.copy("big.bin", "big-copy.bin")
    head = raw.head_object(Bucket=bucket, Key="big-copy.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert head["Metadata"] == {"ferry-xxh3-128": "abc"} and copied.size == len(data)
    assert raw.get_object(Bucket=bucket, Key="big-copy.bin")["Body"].read() == data
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_cat_presign_mb_and_rb(run, bucket: str, raw, s3_server: LocalS3Server) -> None:  # type: ignore[no-untyped-def]
    raw.put_object(Bucket=bucket, Key="notes.txt", Body=b"hello")
    assert run("cat", f"s3://{bucket}/notes.txt") == "hello"
    url = run("presign", f"s3://{bucket}/notes.txt", "--expires-in", "60").strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=60" in url  # SigV4
    with urllib.request.urlopen(url) as answer:  # no credentials: the URL is enough
        assert answer.read() == b"hello"
    assert "out of range" in run("presign", f"s3://{bucket}/notes.txt", "--expires-in", "0", code=3)
    run("mb", "s3://made-by-ferry")
    assert "already exists" in run("mb", "s3://made-by-ferry", code=7)
    raw.put_object(Bucket="made-by-ferry", Key="k", Body=b"x")
    assert "--force" in run("rb", "s3://made-by-ferry", code=3)
    run("rb", "--force", "s3://made-by-ferry")
    assert "made-by-ferry" not in [b["Name"] for b in raw.list_buckets()["Buckets"]]


def test_quiet_prints_nothing_on_success(run, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f.txt").write_text("x")
    assert run("cp", "--quiet", str(tmp_path / "f.txt"), f"s3://{bucket}/f.txt") == ""
    assert run("rm", "-q", f"s3://{bucket}/f.txt") == ""


def test_mb_against_an_endpoint_that_is_down_says_so(
    dev_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check for an existing bucket took 'no answer' for 'it exists' (exit 7)
    from click.testing import CliRunner

    from ferry.cli.main import cli
    from ferry.devserver import free_port

    monkeypatch.setenv("FERRY_MAX_ATTEMPTS", "1")
    down = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["--endpoint-url", down, "mb", "s3://not-made"])
    assert result.exit_code == 8, result.output
    assert "Could not connect" in result.output and "already exists" not in result.output
