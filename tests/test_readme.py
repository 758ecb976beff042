"""Issue #12: every code block of the README runs as written, in order, and so does the demo.

The blocks are run as a newcomer would run them: the ``bash`` blocks in one shell, the
``python`` blocks with Python, one after another in a fresh folder, against a local S3
server and a local EC2 this test starts (``ferry dev s3``, ``ferry dev ec2``), each on a
free port written where the README says 4566 and 5000. A block that needs something no
test machine has (a real AWS account, a second terminal) is marked in the README with
``<!-- readme-test: skip (reason) -->`` on the line before it; ``toml`` and ``text``
blocks are files and outputs the text around them shows, not commands.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ferry.devserver import free_port
from tests.conftest import REPO, TOOLS

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SKIP = "<!-- readme-test: skip ("
BIN = Path(sys.executable).parent


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block that is meant to run, in order."""
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        if before.startswith(SKIP):
            continue
        language = match.group(1)
        if language in {"bash", "python", "sh"}:
            found.append((language, match.group(2)))
    return found


def script(text: str, s3_port: int, ec2_port: int) -> str:
    """One bash script: bash blocks as they are, Python blocks fed to Python."""
    lines = ["set -euo pipefail"]
    for number, (language, code) in enumerate(blocks(text)):
        code = code.replace("127.0.0.1:4566", f"127.0.0.1:{s3_port}")
        code = code.replace("127.0.0.1:5000", f"127.0.0.1:{ec2_port}")
        lines.append(f"echo '--- README block {number} ({language})' >&2")
        if language == "python":
            lines.append(f"python - <<'FERRY_README_PY'\n{code}FERRY_README_PY")
        else:
            lines.append(code)
    return "\n".join(lines) + "\n"


def test_the_readme_blocks_are_found_and_skips_say_why() -> None:
    text = (REPO / "README.md").read_text()
    found = blocks(text)
    assert len(found) >= 20
    assert any("s3store" in code for _, code in found)
    assert any("ferry run\n" in code or "ferry run " in code for _, code in found)
    for line in text.splitlines():
        if line.startswith("<!-- readme-test"):
            assert re.fullmatch(r"<!-- readme-test: skip \(.+\) -->", line), line


def test_the_two_commands_open_the_readme() -> None:
    text = (REPO / "README.md").read_text()
    first = FENCE.search(text)
    assert first is not None and text.index("## Two commands") < first.start()
    commands = [line.split("#")[0].strip() for line in first.group(2).splitlines()]
    assert commands == ["./dev demo", "./dev test"]
    assert "./dev test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.timeout(600)
def test_every_readme_block_runs_as_written(tmp_path: Path) -> None:
    s3_port, ec2_port = free_port(), free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "FERRY_TOOLS_DIR": str(TOOLS),
        "HOME": str(home),
    }
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env.pop(name, None)  # the README's paths are the defaults under HOME
    work = tmp_path / "work"
    work.mkdir()
    with (
        _serving(["s3", "--port", str(s3_port)], s3_port, env),
        _serving(["ec2", "--port", str(ec2_port)], ec2_port, env),
    ):
        text = (REPO / "README.md").read_text()
        run = subprocess.run(
            ["bash", "-c", script(text, s3_port, ec2_port)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
        )
    assert run.returncode == 0, f"{run.stderr[-6000:]}\n--- stdout ---\n{run.stdout[-3000:]}"
    assert "0 cost-generating resources left" in run.stdout


@pytest.mark.timeout(300)
def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "FERRY_TOOLS_DIR": str(TOOLS)}
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, f"{run.stderr[-4000:]}\n--- stdout ---\n{run.stdout[-4000:]}"
    for seen in ("restored copy is identical", "0 cost-generating resources left", "Demo finished"):
        assert seen in run.stdout


@contextmanager
def _serving(args: list[str], port: int, env: dict[str, str]) -> Iterator[None]:
    server = subprocess.Popen(
        [str(BIN / "ferry"), "dev", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(port, server)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"ferry dev {shlex.join(map(str, server.args))} exited")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}")
