"""A local S3-compatible server for offline use, demos and tests (``ferry dev s3``).

The server is `ministack <https://pypi.org/project/ministack/>`_, an AWS emulator that,
unlike moto, enforces SSE-C (no key: 400, wrong key: 403), conditional writes and valid
storage classes, so what passes against it behaves the same against S3. ministack pins
its own botocore, so it is installed in a virtual environment of its own under the tools
folder (``FERRY_TOOLS_DIR``, default: the user cache folder) and runs as a subprocess:
ferry's own boto3 is never held back. The server listens on 127.0.0.1 only and keeps
its objects in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from ferry.errors import FerryError

__all__ = ["DEV_CREDENTIALS", "LocalS3Server", "default_tools_dir", "ensure_tool"]

MINISTACK = ("ministack==1.5.33",)
# Any credentials work against the local server; these are the conventional ones.
DEV_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def default_tools_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("ferry")) / "tools"


def ensure_tool(name: str, requirements: tuple[str, ...], tools_dir: Path) -> Path:
    """A virtual environment named ``name`` with ``requirements`` installed; its bin folder.

    Installs once (under a lock, so parallel callers wait) and reuses it afterwards.
    """
    venv = tools_dir / name
    marker = venv / ".ferry-requirements"
    wanted = "\n".join(requirements)
    tools_dir.mkdir(parents=True, exist_ok=True)
    with open(tools_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted:
            return venv / "bin"
        _run([sys.executable, "-m", "venv", "--clear", str(venv)], f"create the {name} venv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        _run([*pip, "--disable-pip-version-check", *requirements], f"install {name}")
        marker.write_text(wanted)
    return venv / "bin"


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FerryError(
            f"Could not {what}: {result.stderr.strip()[-800:]}",
            "Check that PyPI is reachable (pip install works), then try again.",
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _check_port_free(port: int) -> None:
    """Refuse a port another process listens on: a client would talk to that server."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise FerryError(
                f"Port {port} on 127.0.0.1 is already in use (another server, perhaps a "
                "'ferry dev s3' still running).",
                f"Stop that server, or choose another port: ferry dev s3 --port {port + 1}",
            ) from None


class LocalS3Server:
    """A ministack S3 server on 127.0.0.1, started and stopped by this object.

    Args:
        port: the port to listen on; 0 picks a free one.
        tools_dir: where ministack's virtual environment lives.
        log_path: where the server's output goes (a file in ``tools_dir`` by default).
        services: the ministack services to enable (S3 by default).
        env: more environment for the server's process (its allocator's settings, say);
            never the variables this object sets (the address, port, services, log level,
            PATH and HOME): a ValueError says which.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        tools_dir: Path | None = None,
        log_path: Path | None = None,
        services: tuple[str, ...] = ("s3",),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.tools_dir = tools_dir or default_tools_dir()
        self.log_path = log_path or self.tools_dir / f"ministack-{self.port}.log"
        self._own_log = log_path is None  # removed after a clean stop; kept after a crash
        self.services = services
        self.extra_env = dict(env or {})
        taken = sorted(self.extra_env.keys() & self._own_env().keys())
        if taken:  # a caller's BIND_HOST would open the server beyond this machine
            raise ValueError(f"LocalS3Server sets {', '.join(taken)} itself")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS tools (ferry included) at this server."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": "us-east-1", **DEV_CREDENTIALS}

    def _own_env(self) -> dict[str, str]:
        """What the server's process is given; ``env=`` may add to it, never change it."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.port),
            "MINISTACK_HOST": "127.0.0.1",
            "SERVICES": ",".join(self.services),
            "LOG_LEVEL": "WARNING",
        }

    def start(self, timeout: float = 60.0) -> LocalS3Server:
        """Install (once) and start the server; return when it answers.

        Raises:
            FerryError: the port is taken, or the server did not start (its log's tail).
        """
        _check_port_free(self.port)
        bin_dir = ensure_tool("ministack", MINISTACK, self.tools_dir)
        env = {**self._own_env(), **self.extra_env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(bin_dir / "ministack")],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/", timeout=1),
            ):
                if self._process.poll() is None:  # the answer came from our server
                    return
            time.sleep(0.1)
        self.stop(keep_log=True)  # the error points at it
        tail = self.log_path.read_text(errors="replace")[-800:] if self.log_path.exists() else ""
        raise FerryError(
            f"The local S3 server did not start on {self.url}: {tail.strip()}",
            f"Check the port is free, or see {self.log_path}.",
        )

    def stop(self, grace: float = 5.0, *, keep_log: bool = False) -> None:
        """Stop the server by its process group id (SIGTERM, then SIGKILL after ``grace``
        seconds); safe to call twice. Its log is removed unless ``keep_log``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._own_log and not keep_log:
            self.log_path.unlink(missing_ok=True)

    def create_bucket(self, name: str) -> None:
        """Create a bucket on this server (idempotent)."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)

    def __enter__(self) -> LocalS3Server:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
