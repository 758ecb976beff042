"""`make demo`: a short end-to-end tour of ferry against a local S3 server.

No AWS account is needed: ferry's own local S3-compatible server (ministack, installed in
its own venv on first use) is started on 127.0.0.1 and stopped at the end. Every step runs
the real `ferry` command line, exactly as you would type it.
"""

from __future__ import annotations

import base64
import filecmp
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ferry.devserver import LocalS3Server

BIN = Path(sys.executable).parent
BUCKET = "ferry-demo"


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def ferry(*args: str, env: dict[str, str], expect_failure: bool = False) -> None:
    print(f"$ ferry {shlex.join(args)}", flush=True)
    result = subprocess.run([str(BIN / "ferry"), *args], env=env, check=False)
    if (result.returncode != 0) != expect_failure:
        sys.exit(f"demo: 'ferry {shlex.join(args)}' exited {result.returncode}")
    if expect_failure:
        print(f"(exit code {result.returncode})")


def make_workspace(root: Path) -> Path:
    data = root / "data"
    for run in range(3):
        logs = data / "logs" / f"run-{run}"
        logs.mkdir(parents=True)
        for step_no in range(50):
            (logs / f"step-{step_no:03d}.json").write_text(f'{{"loss": {1 / (step_no + 1):.4f}}}')
    (data / "models").mkdir()
    (data / "models" / "model.bin").write_bytes(os.urandom(40 * 1024 * 1024))
    return data


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalS3Server() as server:
        server.create_bucket(BUCKET)
        env = {**os.environ, **server.env()}
        env.pop("FERRY_SSE_C_KEY", None)
        print(f"Local S3 server on {server.url} (pid {server.pid}), bucket s3://{BUCKET}")

        step("Effective settings and where each came from")
        ferry("config", "show", env=env)

        data = make_workspace(Path(tmp))
        step("Push a training workspace: 150 small logs + a 40 MiB model (multipart)")
        ferry("cp", "-r", str(data), f"s3://{BUCKET}/run-1", env=env)
        ferry("ls", "-H", f"s3://{BUCKET}/run-1/", env=env)
        ferry("ls", "-H", "-r", "--summarize", f"s3://{BUCKET}/run-1/models/", env=env)

        step("Pull it back and check every byte")
        restored = Path(tmp) / "restored"
        ferry("cp", "-r", f"s3://{BUCKET}/run-1", str(restored), env=env)
        same = filecmp.dircmp(data / "logs", restored / "logs")
        assert not (same.diff_files or same.left_only or same.right_only)
        assert filecmp.cmp(
            data / "models" / "model.bin", restored / "models" / "model.bin", shallow=False
        )
        print("restored copy is identical")

        step("Encrypt at rest with your own key (SSE-C)")
        key_env = {**env, "FERRY_SSE_C_KEY": base64.b64encode(os.urandom(32)).decode()}
        ferry("cp", str(data / "models" / "model.bin"), f"s3://{BUCKET}/secure/", env=key_env)
        ferry("cp", f"s3://{BUCKET}/secure/model.bin", str(Path(tmp) / "m.bin"), env=key_env)
        print("Without the key, S3 refuses to read it, and ferry says what to do:")
        ferry(
            "cp",
            f"s3://{BUCKET}/secure/model.bin",
            str(Path(tmp) / "x.bin"),
            env=env,
            expect_failure=True,
        )

        step("Mistakes get one clear line and a distinct exit code")
        ferry("--region", "Frankfurt", "ls", f"s3://{BUCKET}/", env=env, expect_failure=True)
        ferry("ls", f"s3://s3://{BUCKET}/", env=env, expect_failure=True)
        ferry("ls", "s3://no-such-bucket/", env=env, expect_failure=True)

        step("Clean up")
        ferry("rm", "-r", f"s3://{BUCKET}/", env=env)
    print("\nDemo finished; the local S3 server is stopped.")


if __name__ == "__main__":
    main()
