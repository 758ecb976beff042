"""A local EC2 for demos and tests: moto's server, and a launcher whose "instances" are
local processes running their user data.

- :class:`LocalEc2Server` runs ``moto[server]`` (EC2, IAM, STS, SSM, the tagging API) on
  127.0.0.1 from its own virtual environment under the tools folder, started with
  ``MOTO_EC2_LOAD_DEFAULT_AMIS=false`` and stopped by its process group id.
- :class:`LocalLauncher` reads an instance's user data back from EC2 and runs it with
  bash in a folder of its own, with a ``shutdown`` stand-in on ``PATH``: ``shutdown -h
  now`` stops or terminates the instance through the EC2 API, as its
  ``InstanceInitiatedShutdownBehavior`` says, and then ends every process of the
  "instance", as a real power-off would; ``shutdown -h +N`` does the same after N minutes
  times ``minute_s`` seconds. A "hypervisor" process in the instance's process group
  watches the instance through the EC2 API: once anyone stops or terminates it
  (``ferry runs stop``, a sweep, the console), every process of the instance ends, as on
  EC2, so a terminated instance never goes on writing to S3.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from ferry.devserver import DEV_CREDENTIALS, default_tools_dir, ensure_tool, free_port
from ferry.errors import FerryError

__all__ = ["MOTO", "LocalEc2Server", "LocalLauncher"]

MOTO = ("moto[server]==5.2.5",)
SERVICES = ("ec2", "iam", "sts", "ssm", "resourcegroupstaggingapi")

_SHUTDOWN = '''#!{python}
"""shutdown stand-in: power off instance {instance_id} through the EC2 API."""
import os, signal, subprocess, sys, time
import boto3

def power_off():
    ec2 = boto3.client("ec2", endpoint_url={endpoint!r}, region_name={region!r},
                       aws_access_key_id="test", aws_secret_access_key="test")
    how = ec2.describe_instance_attribute(InstanceId={instance_id!r},
        Attribute="instanceInitiatedShutdownBehavior")["InstanceInitiatedShutdownBehavior"]["Value"]
    if how == "terminate":
        ec2.terminate_instances(InstanceIds=[{instance_id!r}])
    else:
        ec2.stop_instances(InstanceIds=[{instance_id!r}])
    os.killpg(int(open({pgid_file!r}).read()), signal.SIGKILL)

args = [a for a in sys.argv[1:] if a not in ("-h", "-P", "-r")]
when = args[0] if args else "now"
if when == "now":
    power_off()
elif when.startswith("+"):
    if os.fork() == 0:  # stays in the instance's process group: dies with it
        time.sleep(float(when[1:]) * {minute_s!r})
        power_off()
    print("shutdown scheduled", when)
'''

_HYPERVISOR = '''#!{python}
"""Power off instance {instance_id}'s processes once EC2 says it is stopping or gone."""
import os, signal, time
import boto3, botocore.config, botocore.exceptions

ec2 = boto3.client("ec2", endpoint_url={endpoint!r}, region_name={region!r},
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=botocore.config.Config(retries={{"max_attempts": 1}},
                                                 connect_timeout=2, read_timeout=5))
unreachable_since = None
while True:
    time.sleep({poll_s!r})
    try:
        found = ec2.describe_instances(InstanceIds=[{instance_id!r}])["Reservations"]
        unreachable_since = None
    except botocore.exceptions.EndpointConnectionError:
        unreachable_since = unreachable_since or time.monotonic()
        if time.monotonic() - unreachable_since > 10:  # the emulator is gone: so are we
            break
        continue
    except botocore.exceptions.ClientError:
        continue  # not visible yet
    states = [i["State"]["Name"] for r in found for i in r["Instances"]]
    if any(s in ("shutting-down", "terminated", "stopping", "stopped") for s in states):
        break
os.killpg(os.getpgid(0), signal.SIGKILL)
'''


class LocalEc2Server:
    """moto's server on 127.0.0.1 for EC2, IAM, STS, SSM and the tagging API.

    Args:
        port: the port; 0 picks a free one.
        tools_dir: where moto's virtual environment lives.
    """

    def __init__(self, *, port: int = 0, tools_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.tools_dir = tools_dir or default_tools_dir()
        self.log_path = self.tools_dir / f"moto-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def env(self) -> dict[str, str]:
        """``AWS_ENDPOINT_URL_<SERVICE>`` for each emulated service."""
        return {f"AWS_ENDPOINT_URL_{s.upper()}": self.url for s in SERVICES}

    def start(self, timeout: float = 60.0) -> LocalEc2Server:
        bin_dir = ensure_tool("moto", MOTO, self.tools_dir)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1),
            ):
                return self
            time.sleep(0.1)
        self.stop()
        raise FerryError(f"moto's server did not start on {self.url}.", f"See {self.log_path}.")

    def stop(self) -> None:
        """Stop the server by its process group id; safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> LocalEc2Server:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalLauncher:
    """Runs an instance's user data as a local process group (the "instance").

    Args:
        ec2_url: the EC2 endpoint (moto's server) to read user data from and power off by.
        folder: where each instance gets its own folder.
        env: extra environment for the instance (endpoints, credentials, ...).
        minute_s: how many seconds a minute of ``shutdown -h +N`` lasts (60: the hard
            deadline comes when it would on EC2, after max runtime + grace + 5 minutes;
            smaller only to watch the hard deadline itself fire).
        region: the region of the instances.
        poll_s: how often the "hypervisor" asks EC2 whether the instance still runs.
    """

    def __init__(
        self,
        ec2_url: str,
        folder: Path,
        *,
        env: Mapping[str, str] | None = None,
        minute_s: float = 60.0,
        region: str = "us-east-1",
        poll_s: float = 0.5,
    ) -> None:
        self.ec2_url, self.folder, self.minute_s, self.region = ec2_url, folder, minute_s, region
        self.poll_s = poll_s
        self.env = dict(env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.hypervisors: dict[str, subprocess.Popen[bytes]] = {}

    def _ec2(self) -> object:
        import boto3

        return boto3.client(
            "ec2",
            endpoint_url=self.ec2_url,
            region_name=self.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def launch(self, instance_id: str) -> None:
        import base64

        answer = self._ec2().describe_instance_attribute(  # type: ignore[attr-defined]
            InstanceId=instance_id, Attribute="userData"
        )
        script = base64.b64decode(answer["UserData"]["Value"]).decode()
        home = self.folder / instance_id
        (home / "bin").mkdir(parents=True, exist_ok=True)
        (home / "user-data.sh").write_text(script)
        pgid_file = home / "pgid"
        names = {
            "python": sys.executable,
            "endpoint": self.ec2_url,
            "region": self.region,
            "instance_id": instance_id,
            "pgid_file": str(pgid_file),
            "minute_s": self.minute_s,
            "poll_s": self.poll_s,
        }
        stand_in = home / "bin" / "shutdown"
        stand_in.write_text(_SHUTDOWN.format(**names))
        stand_in.chmod(0o755)
        hypervisor = home / "hypervisor.py"
        hypervisor.write_text(_HYPERVISOR.format(**names))
        env = {
            "PATH": f"{home / 'bin'}:{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "FERRY_EXEC_PYTHON": sys.executable,
            "FERRY_EXEC_WORKDIR": str(home / "work"),
            **DEV_CREDENTIALS,
            **self.env,
        }
        with open(home / "console.log", "wb") as console:
            process = subprocess.Popen(
                ["bash", str(home / "user-data.sh")],
                cwd=home,
                env=env,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        pgid_file.write_text(str(process.pid))
        self.processes[instance_id] = process
        # In the instance's process group: it dies with the instance, and ends it.
        with contextlib.suppress(OSError, subprocess.SubprocessError):  # already powered off
            self.hypervisors[instance_id] = subprocess.Popen(
                [sys.executable, str(hypervisor)],
                cwd=home,
                env={"PATH": os.environ.get("PATH", ""), "AWS_EC2_METADATA_DISABLED": "true"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                process_group=process.pid,
            )

    def console(self, instance_id: str) -> str:
        """What the instance printed (its user data's output)."""
        path = self.folder / instance_id / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        """Kill every instance process group still running (test clean-up)."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group outlives its leader
            process.wait()
        for hypervisor in self.hypervisors.values():
            hypervisor.wait()
