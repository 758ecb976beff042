"""Fixtures of the sync tests: the real CLI and a raw boto3 client on the local S3 server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.devserver import LocalS3Server


@pytest.fixture
def ferry(s3_server: LocalS3Server, dev_credentials: None):  # type: ignore[no-untyped-def]
    """Run ``ferry ARGS`` in ``cwd`` and check its exit code; its output."""

    def invoke(*args: str, code: int = 0, cwd: Path | None = None) -> str:
        old = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            result = CliRunner().invoke(
                cli, ["--endpoint-url", s3_server.url, "--region", "us-east-1", *args]
            )
        finally:
            os.chdir(old)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


@pytest.fixture
def raw(s3_server: LocalS3Server):  # type: ignore[no-untyped-def]
    """A plain boto3 client, to set up and inspect the bucket behind ferry's back."""
    return boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def workspace(folder: Path, bucket: str, ferry) -> Path:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    ferry("init", f"s3://{bucket}/team", "--dir", str(folder))
    return folder


def write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def keys(raw, bucket: str, prefix: str = "team/") -> list[str]:  # type: ignore[no-untyped-def]
    pages = raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def report(output: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["mapping"]: r for r in json.loads(output)}
