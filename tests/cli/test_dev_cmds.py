"""`ferry dev s3`: starts a usable local server, and stops it when told to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ferry.devserver import free_port
from tests.conftest import TOOLS
from tests.support.net import listening_addresses

FERRY = Path(sys.executable).parent / "ferry"


def test_dev_s3_serves_until_terminated_then_stops_its_server(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "FERRY_TOOLS_DIR": str(TOOLS)}
    server = subprocess.Popen(
        [str(FERRY), "dev", "s3", "--port", str(port), "--bucket", "dev-bucket"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        exports = dict(
            server.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(4)
        )
        assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        (tmp_path / "hello.txt").write_text("hi")
        client_env = {**env, **exports}
        subprocess.run(
            [str(FERRY), "cp", str(tmp_path / "hello.txt"), "s3://dev-bucket/"],
            env=client_env,
            check=True,
            capture_output=True,
        )
        listing = subprocess.run(
            [str(FERRY), "ls", "s3://dev-bucket/"],
            env=client_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "hello.txt" in listing
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        if server.stdout:
            server.stdout.close()
    deadline = time.monotonic() + 10
    while listening_addresses(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening_addresses(port), "the local S3 server outlived `ferry dev s3`"
