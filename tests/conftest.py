"""Test session set-up: no real AWS account is reachable, and real servers on 127.0.0.1.

- Every test runs with AWS and FERRY variables removed, AWS config files pointed at
  nothing and the EC2 metadata service disabled, so no test can find real credentials.
- The session starts ferry's local S3 server (ministack, in its own venv under .tools/)
  and a fault-injecting S3 server, both on 127.0.0.1, and stops them by PID at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.devserver import DEV_CREDENTIALS, LocalS3Server
from ferry.storage.s3 import S3Options, S3Store

REPO = Path(__file__).resolve().parents[1]
TOOLS = Path(os.environ.get("FERRY_TOOLS_DIR", REPO / ".tools"))


def _scrub(environ: dict[str, str] | os._Environ[str]) -> None:
    for name in list(environ):
        if name.startswith(("AWS_", "FERRY_", "BOTO_")):
            del environ[name]
    environ["AWS_CONFIG_FILE"] = "/nonexistent/ferry-tests/aws-config"
    environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/ferry-tests/aws-credentials"
    environ["AWS_EC2_METADATA_DISABLED"] = "true"


# Scrub once for the whole process (session fixtures start before any monkeypatch) ...
_scrub(os.environ)


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """... and again around every test, so a test that sets variables cannot leak them."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "FERRY_", "BOTO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))  # sync states, journal
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3Server]:
    server = LocalS3Server(tools_dir=TOOLS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dev_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server's (fake) credentials, as a user of it would export them."""
    for name, value in DEV_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_options(s3_server: LocalS3Server, dev_credentials: None) -> S3Options:
    return S3Options(endpoint_url=s3_server.url, region="us-east-1", max_attempts=2)


@pytest.fixture
def bucket(s3_server: LocalS3Server) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    return name


@pytest.fixture
def s3_store(bucket: str, s3_options: S3Options) -> S3Store:
    return S3Store(f"s3://{bucket}/root", s3_options)


class FaultServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "support" / "faultserver.py")],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def requests(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.url + "/__requests__") as answer:
            return int(answer.read())

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    try:
        yield server
    finally:
        server.stop()
