"""`ferry ui`: not loaded until run, serves on loopback, and says what to fix when it can't."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.net import listening_addresses

FERRY = Path(sys.executable).parent / "ferry"
DASHBOARD = ("starlette", "uvicorn", "ferry.ui")

LOADED_BY_HELP = f"""
import sys
from ferry.cli.main import main
for argv in (["ferry", "--help"], ["ferry", "ui", "--help"]):
    sys.argv = argv
    try:
        main()
    except SystemExit as exit:
        assert exit.code == 0, exit.code
print(sorted(m for m in sys.modules if m.startswith({DASHBOARD!r})))
"""


def test_import_ferry_and_the_cli_do_not_load_the_dashboard() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOADED_BY_HELP], capture_output=True, text=True, check=True
    ).stdout
    assert "Usage: ferry ui [OPTIONS] [ROOTS]..." in out
    assert out.strip().splitlines()[-1] == "[]"
    code = f"import sys, ferry; print([m for m in sys.modules if m.startswith({DASHBOARD!r})])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def run_ferry(*args: str) -> subprocess.CompletedProcess[str]:
    """``ferry ui`` on any free port unless ``args`` name one (the last --port wins)."""
    command = [str(FERRY), "ui", "--no-browser", "--port", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_without_the_extra_it_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.modules['starlette'] = None\n"
        "from ferry.cli.main import main; sys.argv = ['ferry', 'ui', '.']; main()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: ferry ui needs starlette, which is not installed. "
        "Install the dashboard's extra: pip install 'ferry[ui]'."
    )


def test_nothing_to_show_or_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    nothing = run_ferry()  # no root, no model store, and no run in the ledger
    assert nothing.returncode == 3 and "ferry ui needs something to show" in nothing.stderr
    assert "runs show once 'ferry run' has started one" in nothing.stderr
    missing = run_ferry(str(tmp_path / "nope"))
    assert missing.returncode == 5
    assert f"No folder at {tmp_path / 'nope'}." in missing.stderr
    assert "Traceback" not in missing.stderr + nothing.stderr


def test_it_serves_on_loopback_only_until_interrupted(served: tuple[str, int]) -> None:
    url, pid = served
    with urllib.request.urlopen(f"{url}/api/projects", timeout=10) as answer:
        assert json.load(answer)["projects"][0]["experiments"] == 12
    with urllib.request.urlopen(f"{url}/api/models", timeout=10) as answer:
        assert json.load(answer)["domains"][0]["domain"] == "churn"
    assert listening_addresses(int(url.rsplit(":", 1)[1])) == ["0100007F"]
    os.kill(pid, signal.SIGINT)  # Ctrl-C
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_another_host_prints_a_warning(filled: tuple[Path, dict[str, Any]]) -> None:
    # 192.0.2.1 is a documentation address, on no interface here: the warning is printed,
    # then binding fails, so nothing ever listens beyond loopback in this test.
    result = run_ferry(str(filled[0]), "--host", "192.0.2.1", "--port", "0")
    assert result.stderr.startswith("warning: listening on 192.0.2.1: anyone who can reach")
    assert "error: Cannot listen on 192.0.2.1:0" in result.stderr and result.returncode == 1
    assert "warning" not in run_ferry(str(filled[0] / "missing"), "--host", "127.0.0.1").stderr


def test_a_busy_port_is_a_clear_error(filled: tuple[Path, dict[str, Any]]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_ferry(str(filled[0]), "--port", str(port))
    assert result.returncode == 1
    assert f"error: Cannot listen on 127.0.0.1:{port}: Address already in use." in result.stderr
    assert "--port 0" in result.stderr


def test_a_busy_port_is_said_before_any_root_is_read() -> None:
    # A bucket on an endpoint that refuses connections, without credentials: reading it
    # would end in another error (with credentials, after seconds of retries, while a
    # listing begun in the background kept the process); the port is checked first.
    with socket.socket() as busy, socket.socket() as closed:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port, dead = busy.getsockname()[1], closed.getsockname()[1]
        started = time.monotonic()
        endpoint = f"http://127.0.0.1:{dead}"
        ui = ["ui", "--no-browser", "s3://bucket/root", "--port", str(port)]
        result = subprocess.run(
            [str(FERRY), "--endpoint-url", endpoint, *ui],
            capture_output=True,
            text=True,
            timeout=120,
        )
        took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert took < 10, took
