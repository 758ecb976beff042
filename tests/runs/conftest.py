"""Fixtures for the dev-machine side of runs: moto's server for EC2/IAM/STS/SSM/tagging
(one per session, stopped by PID), each test routed to it and to the local S3 server by
per-service endpoint variables, a local launcher whose "instances" are processes, and a
real git project with a small scikit-learn training.

Every end-to-end test ends with :func:`assert_nothing_left`: no tagged instance that is not
terminated, no volume, no per-run security group, no SSM parameter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import click
import pytest
from click.testing import CliRunner, Result
from tests.conftest import TOOLS
from tests.runs.project import make_project
from tests.support.imds import FakeImds

from ferry.cli.main import cli
from ferry.devec2 import LocalEc2Server, LocalLauncher, pull_the_plug
from ferry.devserver import LocalS3Server

REGION = "us-east-1"
AMI_NAME = "ferry-test-ubuntu-24.04-20250101"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalEc2Server]:
    server = LocalEc2Server(tools_dir=TOOLS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def aws_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def aws_env(
    monkeypatch: pytest.MonkeyPatch,
    moto_server: LocalEc2Server,
    s3_server: LocalS3Server,
    dev_credentials: None,
    tmp_path: Path,
) -> dict[str, str]:
    """Every AWS service routed to the local servers; the run ledger in tmp_path."""
    env = {
        **moto_server.env(),
        "AWS_ENDPOINT_URL_S3": s3_server.url,
        "AWS_DEFAULT_REGION": REGION,
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    moto_server.register_image(AMI_NAME)
    return env


def leftovers(url: str) -> dict[str, list[str]]:
    """What the emulator still holds that a run may have made."""
    ec2, ssm = aws_client("ec2", url), aws_client("ssm", url)
    tagged = [{"Name": "tag-key", "Values": ["ferry:run"]}]
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances(Filters=tagged)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    return {
        "instances": instances,
        "volumes": [v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]],
        "security_groups": [
            g["GroupId"] for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]
        ],
        "ssm_parameters": [
            p["Name"]
            for p in ssm.get_parameters_by_path(Path="/ferry/runs/", Recursive=True)["Parameters"]
        ],
    }


def assert_nothing_left(url: str) -> None:
    left = leftovers(url)
    assert left == {"instances": [], "volumes": [], "security_groups": [], "ssm_parameters": []}, (
        left
    )


@pytest.fixture
def launcher(
    aws_env: dict[str, str], moto_server: LocalEc2Server, tmp_path: Path
) -> Iterator[LocalLauncher]:
    """Instances as local processes. Their hard deadline ('shutdown -h +N') comes when it
    would on EC2 (N real minutes): a test that wants to see it fire says so itself."""
    instance_env = {k: v for k, v in aws_env.items() if k != "XDG_STATE_HOME"}
    local = LocalLauncher(moto_server.url, tmp_path / "instances", env=instance_env)
    try:
        yield local
    finally:
        local.stop_all()


RUN_TOML = """[run]
name = "{name}"
instance_type = "t3.micro"
ami = "name:ferry-test-ubuntu-*"
ami_owners = ["self"]
root_volume_gb = 8
data_volume_gb = 2
git_url = "{repo}"
git_ref = "main"
train = "{python} train.py {train_args}"
max_runtime = "{max_runtime}"
grace = "{grace}"
heartbeat = "1s"
log_flush = "0.5s"
final_wait = "{final_wait}"
boot_timeout = "30s"
instance_profile = "ferry-runs"
"""


@pytest.fixture
def project(aws_env: dict[str, str], bucket: str, tmp_path: Path) -> Any:
    """Make the project (a git repo) with a run.toml; returns a function taking run options."""

    def make(
        train_args: str = "--epochs 3",
        *,
        name: str = "train",
        max_runtime: str = "60s",
        grace: str = "3s",
        final_wait: str = "20s",
        extra: str = "",
    ) -> Path:
        repo = make_project(tmp_path / "repo", f"s3://{bucket}/ws")
        (repo / "run.toml").write_text(
            RUN_TOML.format(
                name=name,
                repo=repo,
                python=sys.executable,
                train_args=train_args,
                max_runtime=max_runtime,
                grace=grace,
                final_wait=final_wait,
            )
            + extra
        )
        return repo

    return make


def ferry_with(launcher: LocalLauncher | None, poll_s: float = 0.2) -> click.Group:
    """ferry's CLI inside a group that injects the launcher (as the demo does)."""

    @click.group()
    @click.pass_context
    def outer(ctx: click.Context) -> None:
        ctx.meta["ferry.runs.launcher"] = launcher
        ctx.meta["ferry.runs.poll_s"] = poll_s
        ctx.meta["ferry.runs.visible_s"] = 5.0

    outer.add_command(cli, "ferry")
    return outer


def invoke(launcher: LocalLauncher | None, *args: str, cwd: Path | None = None) -> Result:
    if cwd is not None:
        os.chdir(cwd)
    return CliRunner().invoke(ferry_with(launcher), ["ferry", *args], catch_exceptions=False)


def setup_account(cwd: Path) -> None:
    """``ferry runs setup`` (security group, role, profile) against the emulator."""
    result = invoke(None, "runs", "setup", cwd=cwd)
    assert result.exit_code == 0, result.output


def report_of(output: str) -> dict[str, Any]:
    """The JSON report ``--json`` printed (after any other output)."""
    return json.loads(output[output.index("{") :]) if "{" in output else {}


def consoles(folder: Path) -> str:
    """What every local instance under ``folder`` printed (user data and ferry exec)."""
    return "".join(
        f"--- {path.parent.name} ---\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(folder.glob("*/console.log"))
    )


@dataclass
class Ran:
    """One ``ferry run --json``: exit code, report, and what to show when a check fails."""

    code: int
    report: dict[str, Any]
    stderr: str
    console: str

    def why(self) -> str:
        return (
            f"exit code {self.code}; state {self.report.get('state')}; problems "
            f"{self.report.get('problems')}\n--- ferry run ---\n{self.stderr[-4000:]}\n"
            f"{self.console}"
        )


def run_ferry(launcher: LocalLauncher, repo: Path, *args: str) -> Ran:
    """Set the account up, then ``ferry run --json`` in ``repo`` with the launcher."""
    setup_account(repo)
    result = invoke(launcher, "run", "--json", *args, cwd=repo)
    return Ran(result.exit_code, report_of(result.stdout), result.stderr, consoles(launcher.folder))


@pytest.fixture
def fake_imds() -> Iterator[FakeImds]:
    """A fake EC2 metadata service (IMDSv2) on 127.0.0.1: ``.url``, ``.interrupt()``."""
    server = FakeImds()
    try:
        yield server
    finally:
        server.stop()


SCRIPT = Path(__file__).parent / "orchestrator.py"


class Orchestrator:
    """``ferry run --json`` in a process of its own, with its own local launcher."""

    def __init__(
        self, repo: Path, moto: LocalEc2Server, folder: Path, *, minute_s: float = 60
    ) -> None:
        self.folder = folder
        env = {**os.environ, "ORCHESTRATOR_MINUTE_S": str(minute_s)}
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), moto.url, str(folder)],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until(self, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                out, err = self.process.communicate()
                raise AssertionError(f"orchestrator: {out}\n{err}\n{consoles(self.folder)}")
            time.sleep(0.1)

    def training_started(self) -> bool:
        """Some instance's training printed an epoch (its log is kept in the workdir)."""
        return any(
            "accuracy" in p.read_text(errors="replace")
            for p in self.folder.glob("*/work/logs/*.log")
        )

    def kill_instances(self) -> None:
        """Test clean-up: end every local instance this orchestrator's launcher started."""
        for home in self.folder.glob("i-*"):
            pull_the_plug(home)
