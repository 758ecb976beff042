"""A sync that has nothing to move stays light: no boto3, botocore nor pandas imported, no
platformdirs (its folder found by its own rule), and no thread pool nor logging (~4 ms of
every start: imported when a transfer needs them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ferry.config import _user_config_dir
from ferry.devserver import DEV_CREDENTIALS, LocalS3Server

CODE = """
import sys
from ferry.cli.main import cli
try:  # cli, not main: main ends the process before the check below
    cli(["push", "logs"], prog_name="ferry")
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = ("boto3", "botocore", "pandas", "pyarrow", "platformdirs", "concurrent.futures", "logging")
print(sorted(m for m in heavy if m in sys.modules))
"""


def test_a_no_op_push_imports_neither_boto3_nor_pandas(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    env = {**os.environ, **DEV_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server.url}
    env["FERRY_REGION"] = "us-east-1"
    cli = [sys.executable, "-c", "from ferry.cli.main import main; main()"]
    init = subprocess.run([*cli, "init", f"s3://{bucket}/team"], cwd=tmp_path, env=env)
    assert init.returncode == 0
    for i in range(30):
        (tmp_path / "data" / "logs" / f"{i}.txt").write_text(str(i))
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-c", CODE], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    first = run()  # uploads the 30 files
    assert first.returncode == 0, first.stderr
    again = run()  # nothing to move
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "[]"


# ferry's entry point, with a line the interpreter's teardown would print.
WATCHED = """
import atexit, sys
atexit.register(lambda: print("torn down", file=sys.stderr))
from ferry.cli.main import main
sys.argv[0] = "ferry"
main()
"""


def test_a_sync_ends_without_the_teardown_and_keeps_its_output_and_code(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str
) -> None:
    env = {**os.environ, **DEV_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server.url}
    env["FERRY_REGION"] = "us-east-1"
    env.pop("PYTHONUNBUFFERED", None)  # buffered, as a user's shell has it

    def ferry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", WATCHED, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,  # pipes: what is not flushed before the end is lost
            text=True,
        )

    assert ferry("init", f"s3://{bucket}/team").returncode == 0
    for i in range(30):
        (tmp_path / "data" / "logs" / f"{i}.txt").write_text(str(i))
    pushed = ferry("push", "logs")
    assert pushed.returncode == 0, pushed.stderr
    assert "torn down" not in pushed.stderr  # ended at once
    assert pushed.stdout.splitlines()[-1].startswith("logs\tpush\t30 (")  # the summary
    again = ferry("push", "logs")  # the state it saved is whole: nothing left to move
    assert again.stdout.splitlines()[-1].startswith("logs\tpush\t0 ("), again.stdout
    refused = ferry("push", "nosuch")  # an error keeps its message and its exit code
    assert refused.returncode == 3 and "nosuch" in refused.stderr, refused.stderr
    assert "torn down" not in refused.stderr
    listed = ferry("ls", f"s3://{bucket}/team/")  # other commands end as Python does
    assert listed.returncode == 0 and "torn down" in listed.stderr, listed.stderr


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-config", "relative/xdg", ""])
def test_the_user_config_folder_is_platformdirs_one(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert _user_config_dir() == Path(platformdirs.user_config_dir("ferry"))
