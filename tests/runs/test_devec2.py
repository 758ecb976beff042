"""The local EC2 itself: an instance created through the API, with no launcher injected,
boots (its user data runs), powers itself off through ``shutdown``, and a terminated
instance stops running (what ``ferry dev ec2``, the demo and the benchmark rely on)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.runs.conftest import AMI_NAME

from ferry.devec2 import LocalEc2Server, LocalInstances, LocalLauncher

pytestmark = pytest.mark.timeout(60)


def launch(moto: LocalEc2Server, script: str) -> str:
    ec2 = moto.client("ec2")
    answer = ec2.run_instances(
        ImageId=moto.register_image(AMI_NAME),
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        UserData=script,  # boto3 encodes it
        InstanceInitiatedShutdownBehavior="terminate",
    )
    return str(answer["Instances"][0]["InstanceId"])


def state(moto: LocalEc2Server, instance_id: str) -> str:
    answer = moto.client("ec2").describe_instances(InstanceIds=[instance_id])
    return str(answer["Reservations"][0]["Instances"][0]["State"]["Name"])


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_instances_boot_run_their_user_data_and_power_off(
    moto_server: LocalEc2Server, tmp_path: Path
) -> None:
    instances = LocalInstances(LocalLauncher(moto_server.url, tmp_path)).start()
    try:
        booted = '#!/bin/bash\necho "booted as $HOME" > marker\nshutdown -h now\n'
        done = launch(moto_server, booted)
        wait(lambda: state(moto_server, done) == "terminated")
        assert (tmp_path / done / "marker").read_text().startswith("booted as")

        # A process in a session of its own (as ferry exec runs training) ends too.
        ticking = (
            "#!/bin/bash\nsetsid sleep 300 &\necho $! > escaped\n"
            "while true; do date >> ticks; sleep 0.1; done\n"
        )
        forever = launch(moto_server, ticking)
        wait(lambda: (tmp_path / forever / "ticks").exists())
        escaped = int((tmp_path / forever / "escaped").read_text())
        assert alive(escaped)
        moto_server.client("ec2").terminate_instances(InstanceIds=[forever])
        process = instances.launcher.processes[forever]
        wait(lambda: process.poll() is not None)  # powered off: the user data was killed
        wait(lambda: not alive(escaped))
        ticks = (tmp_path / forever / "ticks").read_text()
        time.sleep(0.5)
        assert (tmp_path / forever / "ticks").read_text() == ticks  # nothing runs on
    finally:
        instances.stop()
