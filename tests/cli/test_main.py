"""The command group: every command registered lazily, and ``ferry --help`` without them."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ferry.cli import (
    config_cmds,
    copy_cmds,
    dev_cmds,
    exec_cmds,
    experiments_cmds,
    models_cmds,
    runs_cmds,
    storage_cmds,
    sync_cmds,
    ui_cmds,
)
from ferry.cli.main import LAZY_COMMANDS, SHORT_HELP, cli
from ferry.devserver import LocalS3Server

# Every command the command modules define (a new one must be added to LAZY_COMMANDS).
DEFINED = [
    *storage_cmds.COMMANDS,
    *copy_cmds.COMMANDS,
    *sync_cmds.COMMANDS,
    config_cmds.config,
    dev_cmds.dev,
    experiments_cmds.experiments,
    models_cmds.models,
    models_cmds.objects,
    ui_cmds.ui,
    runs_cmds.run,
    runs_cmds.runs,
    runs_cmds.sweep_cmd,
    exec_cmds.exec_,
]


def test_every_command_is_in_the_lazy_table() -> None:
    assert {c.name for c in DEFINED} <= set(LAZY_COMMANDS)
    for name, (module, attribute) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert command.name == name


def _command(module: str, attribute: str) -> click.Command:
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    return command


@pytest.mark.parametrize("name", sorted(SHORT_HELP))
@pytest.mark.parametrize("limit", [30, 45, 200])
def test_the_static_help_is_the_commands_own(name: str, limit: int) -> None:
    command = _command(*LAZY_COMMANDS[name])
    known = SHORT_HELP[name]
    if known is None:
        assert command.hidden
        return
    assert not command.hidden
    assert click.Command(name, help=known).get_short_help_str(limit) == (
        command.get_short_help_str(limit)
    )


def test_help_lists_every_command_without_importing_one() -> None:
    code = (
        "import sys; from ferry.cli.main import main; sys.argv = ['ferry', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.endswith('_cmds')))\n"
        "print(sorted(m for m in ('boto3', 'pandas', 'ferry.sync') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    listing, imported, heavy = out.rsplit("\n", 3)[:3]
    assert (imported, heavy) == ("[]", "[]")
    shown = [line.split()[0] for line in listing.split("Commands:\n")[1].splitlines()]
    hidden = {n for n, (m, a) in LAZY_COMMANDS.items() if _command(m, a).hidden}
    assert shown == sorted(set(LAZY_COMMANDS) - hidden)


def test_a_command_runs_through_the_lazy_table() -> None:
    result = CliRunner().invoke(cli, ["sync", "--help"])
    assert result.exit_code == 0
    assert "Sync each mapping its own way" in result.output
    assert CliRunner().invoke(cli, ["no-such-command"]).exit_code == 2


def test_ctrl_c_is_one_line_and_exit_code_130(tmp_path: Path) -> None:
    """Ctrl-C while a request hangs: no traceback, 'interrupted', and 130 as shells use."""
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        ferry = str(Path(sys.executable).parent / "ferry")
        process = subprocess.Popen(
            [ferry, "ls", "s3://bucket/"], env=env, stderr=subprocess.PIPE, text=True
        )
        time.sleep(2)  # started, and waiting for the silent server
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "error: interrupted (Ctrl-C)."


def test_a_reader_that_goes_away_is_not_a_bug(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    """'ferry cat ... | head': the pipe closes under ferry; quiet, 141 as shells report."""
    import boto3

    boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1").put_object(
        Bucket=bucket, Key="big.txt", Body=b"line\n" * 2_000_000
    )
    ferry = str(Path(sys.executable).parent / "ferry")
    env = {**os.environ, "AWS_ENDPOINT_URL": s3_server.url, "FERRY_REGION": "us-east-1"}
    cat = subprocess.Popen(
        [ferry, "cat", f"s3://{bucket}/big.txt"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert cat.stdout is not None and cat.stderr is not None
    assert cat.stdout.read(5) == b"line\n"
    cat.stdout.close()  # the reader goes away, as head does after its lines
    stderr = cat.stderr.read().decode()
    cat.stderr.close()
    assert cat.wait(timeout=60) == 141, stderr
    assert "bug" not in stderr and "Traceback" not in stderr
