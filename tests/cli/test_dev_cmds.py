"""`ferry dev s3`: starts a usable local server, and stops it when told to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ferry.devserver import LocalS3Server, free_port
from tests.conftest import TOOLS
from tests.support.net import listening_addresses

FERRY = Path(sys.executable).parent / "ferry"


def start(port: int, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "FERRY_TOOLS_DIR": str(TOOLS)}
    server = subprocess.Popen(
        [str(FERRY), "dev", "s3", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    exports = dict(
        server.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(4)
    )
    return server, {**env, **exports}


def stopped_within(server: subprocess.Popen[str], port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while (server.poll() is None or listening_addresses(port)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for stream in (server.stdout, server.stderr):
        if stream:
            stream.close()
    return server.poll() is not None and not listening_addresses(port)


def test_dev_s3_serves_until_terminated_then_stops_its_server(tmp_path: Path) -> None:
    port = free_port()
    server, client_env = start(port, "--bucket", "dev-bucket")
    try:
        assert client_env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        (tmp_path / "hello.txt").write_text("hi")
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
    assert stopped_within(server, port, 2.0), "the server outlived `ferry dev s3` by over 2 s"
    assert server.returncode == 0


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP])
def test_each_stop_signal_ends_it_within_two_seconds_leaving_nothing(stop: int) -> None:
    port = free_port()
    server, _ = start(port)
    started = time.monotonic()
    server.send_signal(stop)
    assert stopped_within(server, port, 2.0), f"still running {time.monotonic() - started:.1f} s"
    assert not (TOOLS / f"ministack-{port}.log").exists()  # its log goes with it


def test_a_port_in_use_is_an_error_naming_the_port() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = subprocess.run(
            [str(FERRY), "dev", "s3", "--port", str(port)],
            env={**os.environ, "FERRY_TOOLS_DIR": str(TOOLS)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "listening" not in result.stderr.lower()


def test_the_server_process_gets_the_environment_it_is_given() -> None:
    """The sync benchmark fixes the server's allocator this way (bench/sync.py)."""
    with LocalS3Server(tools_dir=TOOLS, env={"MALLOC_TRIM_THRESHOLD_": "12345"}) as server:
        assert server.pid is not None
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_TRIM_THRESHOLD_=12345" in environ
    assert b"GATEWAY_PORT=" + str(server.port).encode() in environ  # its own still there


@pytest.mark.parametrize("name", ["BIND_HOST", "GATEWAY_PORT"])
def test_the_environment_given_cannot_change_the_address_the_server_listens_on(
    name: str,
) -> None:
    with pytest.raises(ValueError, match=name):
        LocalS3Server(tools_dir=TOOLS, env={name: "0.0.0.0"})
