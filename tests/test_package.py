"""The package itself: a light import, a public API in step with __all__, a loopback server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ferry
from ferry.devserver import LocalS3Server


def test_import_is_fast_and_light() -> None:
    code = (
        "import time, sys; t = time.perf_counter(); import ferry; "
        "print(time.perf_counter() - t, 'boto3' in sys.modules, 'pandas' in sys.modules)"
    )
    best = min(
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        for _ in range(3)
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[1:] == ["False", "False"]
    assert best < 0.3


def test_all_matches_the_public_names() -> None:
    public = {n for n in vars(ferry) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if type(getattr(ferry, n)).__name__ == "module"}
    assert set(ferry.__all__) - {"__version__"} == public - modules


def test_the_local_server_listens_on_loopback_only(s3_server: LocalS3Server) -> None:
    port = f"{s3_server.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(f":{port}"):
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing else
