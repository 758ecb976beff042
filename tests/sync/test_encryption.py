"""Issue #8: turning SSE-C on for an existing workspace never leaves plaintext called 'same'.

Objects written before the key was configured are shown as not encrypted by ``ferry
status`` and rewritten with the key by the next push (a server-side copy: nothing is
uploaded again). Pull-only data is read whatever its encryption and never rewritten.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.sync.conftest import report, workspace, write

KEY = os.urandom(32)
OTHER = os.urandom(32)


def with_key(monkeypatch: pytest.MonkeyPatch, key: bytes) -> None:
    monkeypatch.setenv("FERRY_SSE_C_KEY", base64.b64encode(key).decode())


def plain_read(raw, bucket: str, key: str) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(raw.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_turning_sse_c_on_re_encrypts_on_the_next_push_without_uploading(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    a = workspace(tmp_path / "a", bucket, ferry)
    for i in range(5):
        write(a, f"data/logs/run{i}.json", f'{{"loss": {i}}}')
    ferry("push", "logs", cwd=a)
    assert plain_read(raw, bucket, "team/logs/run0.json") == b'{"loss": 0}'

    with_key(monkeypatch, KEY)
    status = ferry("status", "logs", cwd=a)
    shown = [line for line in status.splitlines() if "\tencrypt\t" in line]
    assert len(shown) == 5 and all("not encrypted with your SSE-C key" in s for s in shown)
    done = report(ferry("push", "logs", "--json", cwd=a))["logs"]
    assert (done["encrypted"], done["uploaded"], done["uploaded_bytes"]) == (5, 0, 0)
    for i in range(5):
        with pytest.raises(ClientError):  # no longer readable without the key
            plain_read(raw, bucket, f"team/logs/run{i}.json")
        got = raw.get_object(
            Bucket=bucket,
            Key=f"team/logs/run{i}.json",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=KEY,
        )
        assert got["Body"].read() == f'{{"loss": {i}}}'.encode()
    again = json.loads(ferry("status", "logs", "--json", cwd=a))[0]
    assert again["actions"] == []  # encrypted, and the state knows it: nothing more to do


def test_pull_only_plaintext_is_read_with_a_key_configured_and_never_rewritten(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(Bucket=bucket, Key="team/cached-datasets/train.parquet", Body=b"plain data")
    with_key(monkeypatch, KEY)
    a = workspace(tmp_path / "a", bucket, ferry)
    out = ferry("pull", "cached-datasets", cwd=a)
    assert (a / "data/cached_datasets/train.parquet").read_bytes() == b"plain data"
    assert "not encrypted with your SSE-C key" not in out  # it was downloaded, not compared
    out = ferry("pull", "cached-datasets", cwd=a)  # now identical on both sides
    assert "1 object(s) not encrypted with your SSE-C key; pull-only data is read" in out
    assert plain_read(raw, bucket, "team/cached-datasets/train.parquet") == b"plain data"


def test_an_object_under_another_key_is_reported_and_skipped(
    tmp_path: Path,
    bucket: str,
    ferry,
    raw,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    raw.put_object(
        Bucket=bucket,
        Key="team/logs/theirs.txt",
        Body=b"x",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=OTHER,
    )
    raw.put_object(
        Bucket=bucket,
        Key="team/logs/ours.txt",
        Body=b"y",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=KEY,
    )
    with_key(monkeypatch, KEY)
    a = workspace(tmp_path / "a", bucket, ferry)
    out = ferry("pull", "logs", cwd=a, code=21)
    assert "theirs.txt: skipped:" in out and "different key" in out
    assert (a / "data/logs/ours.txt").read_bytes() == b"y"
    assert not (a / "data/logs/theirs.txt").exists()
