"""On a terminal, ferry draws progress bars and tables: run the real commands on a
pseudo-terminal (nothing faked) and check they finish and show their report."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

from ferry.devserver import DEV_CREDENTIALS, LocalS3Server

FERRY = Path(sys.executable).parent / "ferry"


def on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    master, slave = os.openpty()
    process = subprocess.Popen(
        [str(FERRY), *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_sync_and_copy_on_a_terminal(tmp_path: Path, s3_server: LocalS3Server, bucket: str) -> None:
    env = {
        **os.environ,
        **DEV_CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_server.url,
        "FERRY_REGION": "us-east-1",
        "COLUMNS": "150",
        "TERM": "xterm",
    }
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(
        [str(FERRY), "init", f"s3://{bucket}/team", "--dir", str(ws)],
        env=env,
        check=True,
        capture_output=True,
    )
    for i in range(50):
        (ws / "data" / "logs" / f"{i}.json").write_text("{}")
    code, screen = on_terminal(["push"], ws, env)
    assert code == 0, screen
    assert "ferry sync" in screen and "50 (100 Bytes)" in screen
    code, screen = on_terminal(
        ["cp", "-r", str(ws / "data" / "logs"), f"s3://{bucket}/copy"], ws, env
    )
    assert code == 0, screen
    assert "copied 50 file(s)" in screen


def test_a_single_file_cp_shows_bytes_rate_and_time_left(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    """Issue #12: progress on one file's copy, both ways, in binary units (MiB)."""
    env = {
        **os.environ,
        **DEV_CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_server.url,
        "FERRY_REGION": "us-east-1",
        "COLUMNS": "120",
        "TERM": "xterm",
    }
    big = tmp_path / "model.bin"
    big.write_bytes(os.urandom(40 * 1024 * 1024))  # multipart: progress per part
    code, screen = on_terminal(["cp", str(big), f"s3://{bucket}/model.bin"], tmp_path, env)
    assert code == 0, screen
    assert "model.bin" in screen and "MiB" in screen and "copied 1 file(s)" in screen
    assert "━" in screen and "/40.0 MiB" in screen  # a bar of bytes sent out of the total
    code, screen = on_terminal(
        ["cp", f"s3://{bucket}/model.bin", str(tmp_path / "back.bin")], tmp_path, env
    )
    assert code == 0, screen
    assert "━" in screen and "40.0/40.0 MiB" in screen
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    code, screen = on_terminal(
        ["cp", "--no-progress", f"s3://{bucket}/model.bin", str(tmp_path / "b2.bin")], tmp_path, env
    )
    assert code == 0 and "MiB/s" in screen  # the summary only
    assert "━" not in screen  # no bar drawn
