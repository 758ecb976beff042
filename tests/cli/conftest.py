"""Fixtures of the CLI tests: ferry through click's runner against the local S3 server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.devserver import LocalS3Server


@pytest.fixture
def run(s3_server: LocalS3Server, dev_credentials: None):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(
            cli, ["--endpoint-url", s3_server.url, "--region", "us-east-1", *args]
        )
        assert result.exit_code == code, result.output
        return result.output

    return invoke
