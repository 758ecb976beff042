"""Issue #8: failures in the middle of a sync, through the real CLI.

The fault server (tests/support/faultserver.py) answers what no emulator can: a body cut
short, a connection reset mid-stream, an endpoint that stops answering after the listing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.cli.sync_cmds import EXIT_ERRORS
from tests.conftest import FaultServer
from tests.support.faultserver import FILES_IN_GONE, content


def pull(folder: Path, bucket: str, server: FaultServer, *args: str) -> tuple[int, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ferry.toml").write_text(
        f'[workspace]\nremote_root = "s3://{bucket}"\n\n[[workspace.mapping]]\n'
        'name = "data"\nlocal = "data"\nremote = "data"\ndirection = "pull"\n'
    )
    result = CliRunner().invoke(
        cli,
        ["--endpoint-url", server.url, "--region", "us-east-1", "pull", *args],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch, dev_credentials: None) -> None:
    monkeypatch.setenv("FERRY_MAX_ATTEMPTS", "2")


def test_a_body_cut_short_or_reset_fails_that_file_and_the_rest_completes(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    code, out = pull(tmp_path, "flaky", fault_server)
    assert code == EXIT_ERRORS, out
    for name in ("good-1.bin", "good-2.bin"):
        assert (tmp_path / "data" / name).read_bytes() == content(f"data/{name}")
    assert "error: data: truncated.bin: The connection to" in out
    assert "error: data: reset.bin: The connection to" in out
    assert "Traceback" not in out
    leftovers = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert leftovers == ["good-1.bin", "good-2.bin"]  # no half-written file is visible


def test_an_endpoint_lost_mid_sync_is_reported_once_as_the_endpoint(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    code, out = pull(tmp_path, "gone", fault_server)
    assert code == 8, out  # EndpointError's exit code, not 'some files failed'
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert f"of {FILES_IN_GONE} file(s) of mapping 'data' were not transferred" in out
    assert "local file" not in out  # not blamed on the disk
    assert not any((tmp_path / "data").iterdir())


def test_status_of_a_reachable_listing_does_not_touch_the_objects(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    code, out = pull(tmp_path, "gone", fault_server, "--dry-run", "--json")
    assert code == 0, out
    (plan,) = json.loads(out)
    assert len(plan["actions"]) == FILES_IN_GONE
