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
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from ferry.devserver import DEV_CREDENTIALS, default_tools_dir, ensure_tool, free_port
from ferry.errors import FerryError

__all__ = [
    "DEV_AMI_NAME",
    "MOTO",
    "LocalEc2Server",
    "LocalInstances",
    "LocalLauncher",
    "pull_the_plug",
    "write_sample_project",
]

MOTO = ("moto[server]==5.2.5",)
SERVICES = ("ec2", "iam", "sts", "ssm", "resourcegroupstaggingapi")
DEV_AMI_NAME = "ferry-dev-ubuntu-24.04"  # the image every local EC2 offers (ami = "name:...")
REGION = "us-east-1"

MARK = "FERRY_DEV_INSTANCE"  # every process of a local instance has it in its environment

# The instance's power: ``power.py shutdown [-h] [now|+N]`` (the stand-in for shutdown(8)),
# ``power.py watch`` (the "hypervisor") and ``power.py kill`` (pull the plug). Plain HTTP to
# moto's query API, no boto3: every local instance runs them, they must cost next to
# nothing. A power-off ends every process that carries the instance's mark, whatever its
# session or parent (training runs in a session of its own, and outlives its supervisor).
_POWER = """#!{python}
import os, re, signal, sys, time, urllib.parse, urllib.request

INSTANCE = {instance_id!r}
MARK = ("\\0{mark}=" + INSTANCE + "\\0").encode()
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20250101/{region}/ec2/aws4_request, "
        "SignedHeaders=host, Signature=0")

def ec2(action, **params):
    body = urllib.parse.urlencode(dict(Action=action, Version="2016-11-15", **params))
    request = urllib.request.Request({endpoint!r}, body.encode(), {{"Authorization": AUTH,
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()

def power_off():
    answer = ec2("DescribeInstanceAttribute", InstanceId=INSTANCE,
                 Attribute="instanceInitiatedShutdownBehavior")
    terminate = re.search(r"<value>\\s*terminate\\s*</value>", answer)
    ec2("TerminateInstances" if terminate else "StopInstances", **{{"InstanceId.1": INSTANCE}})
    pull_the_plug()

def pull_the_plug():
    \"\"\"SIGKILL every process of the instance, this one last.\"\"\"
    for _ in range(5):  # again, for what forked in between
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{{entry}}/environ", "rb") as environ:
                    if MARK in b"\\0" + environ.read():
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
            except OSError:
                pass
        if not found:
            break
    os.kill(os.getpid(), signal.SIGKILL)

def shutdown(args):
    args = [a for a in args if a not in ("-h", "-P", "-r")]
    when = args[0] if args else "now"
    if when == "now":
        power_off()
    elif when.startswith("+"):
        if os.fork() == 0:  # stays in the instance's process group: dies with it
            time.sleep(float(when[1:]) * {minute_s!r})
            power_off()
        print("shutdown scheduled", when)

def watch():
    \"\"\"Power the instance off once EC2 says it is stopping or gone.\"\"\"
    failing_since = None
    while True:
        time.sleep({poll_s!r})
        try:
            answer = ec2("DescribeInstances", **{{"InstanceId.1": INSTANCE}})
            failing_since = None
        except OSError:  # not visible yet (an error answer), or the emulator is gone
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > 30:
                break
            continue
        states = re.findall(r"<instanceState>\\s*<code>\\d+</code>\\s*<name>([a-z-]+)<", answer)
        if set(states) & {{"shutting-down", "terminated", "stopping", "stopped"}}:
            break
    pull_the_plug()

if sys.argv[1] == "watch":
    watch()
elif sys.argv[1] == "kill":
    pull_the_plug()
else:
    shutdown(sys.argv[2:])
"""


class LocalEc2Server:
    """moto's server on 127.0.0.1 for EC2, IAM, STS, SSM and the tagging API.

    Args:
        port: the port; 0 picks a free one.
        tools_dir: where moto's virtual environment lives.
    """

    def __init__(self, *, port: int = 0, tools_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.tools_dir = tools_dir or default_tools_dir()
        self.log_path = self.tools_dir / f"moto-{self.port}.log"  # removed after a clean stop
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

    def client(self, service: str) -> Any:
        """A boto3 client of one emulated service, with the dev keys."""
        return _client(service, self.url)

    def register_image(self, name: str = DEV_AMI_NAME) -> str:
        """An AMI named ``name`` owned by the caller (made once); its id."""
        ec2 = self.client("ec2")
        found = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
        if found["Images"]:
            return str(found["Images"][0]["ImageId"])
        made = ec2.register_image(Name=name, RootDeviceName="/dev/sda1", Architecture="x86_64")
        return str(made["ImageId"])

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
        self.stop(keep_log=True)  # the error points at it
        raise FerryError(f"moto's server did not start on {self.url}.", f"See {self.log_path}.")

    def stop(self, *, keep_log: bool = False) -> None:
        """Stop the server by its process group id; safe to call twice. Its log is removed
        unless ``keep_log``."""
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
        if not keep_log:
            self.log_path.unlink(missing_ok=True)

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
        region: str = REGION,
        poll_s: float = 0.5,
    ) -> None:
        self.ec2_url, self.folder, self.minute_s, self.region = ec2_url, folder, minute_s, region
        self.poll_s = poll_s
        self.env = dict(env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def launch(self, instance_id: str) -> None:
        import base64

        answer = _client("ec2", self.ec2_url, self.region).describe_instance_attribute(
            InstanceId=instance_id, Attribute="userData"
        )
        script = base64.b64decode(answer["UserData"]["Value"]).decode()
        home = self.folder / instance_id
        (home / "bin").mkdir(parents=True, exist_ok=True)
        (home / "user-data.sh").write_text(script)
        names = {
            "python": sys.executable,
            "endpoint": self.ec2_url,
            "region": self.region,
            "instance_id": instance_id,
            "minute_s": self.minute_s,
            "poll_s": self.poll_s,
            "mark": MARK,
        }
        power = home / "power.py"
        power.write_text(_POWER.format(**names))
        stand_in = home / "bin" / "shutdown"
        python = shlex.quote(sys.executable)
        stand_in.write_text(f'#!/bin/sh\nexec {python} {shlex.quote(str(power))} shutdown "$@"\n')
        stand_in.chmod(0o755)
        python_bin = Path(sys.executable).parent  # the instance's Python, as on a DL AMI
        env = {
            "PATH": f"{home / 'bin'}:{python_bin}:{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "FERRY_EXEC_PYTHON": sys.executable,
            "FERRY_EXEC_WORKDIR": str(home / "work"),
            **DEV_CREDENTIALS,
            **self.env,
            MARK: instance_id,
        }
        # The "hypervisor" runs in the instance's process group (it dies with the instance,
        # and ends it); a new session's group can only be joined from inside it.
        boot = (
            f"{python} {shlex.quote(str(power))} watch "
            "</dev/null >/dev/null 2>&1 & exec bash user-data.sh"
        )
        with open(home / "console.log", "wb") as console:
            process = subprocess.Popen(
                ["bash", "-c", boot],
                cwd=home,
                env=env,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes[instance_id] = process

    def console(self, instance_id: str) -> str:
        """What the instance printed (its user data's output)."""
        path = self.folder / instance_id / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        """Power off every instance this launcher started (test clean-up)."""
        for instance_id, process in self.processes.items():
            pull_the_plug(self.folder / instance_id)
            process.wait()


def pull_the_plug(home: Path) -> None:
    """End every process of the local instance whose folder is ``home`` (a power-off
    without the EC2 API: for clean-up); nothing happens if it already ended."""
    power = home / "power.py"
    if power.exists():
        subprocess.run([sys.executable, str(power), "kill"], check=False)


class LocalInstances:
    """Boots each instance created on the local EC2, as EC2 would, with no launcher
    injected into ferry: a thread lists pending and running instances and hands each new
    one to a :class:`LocalLauncher` (``ferry dev ec2`` runs one).

    Args:
        launcher: what runs each instance's user data.
        poll_s: how often EC2 is asked for new instances (the local "boot" delay).
    """

    def __init__(self, launcher: LocalLauncher, *, poll_s: float = 0.2) -> None:
        self.launcher, self.poll_s = launcher, poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-instances", daemon=True)

    def start(self) -> LocalInstances:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop booting, and power off every instance still running."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.launcher.stop_all()

    def _loop(self) -> None:
        ec2 = _client("ec2", self.launcher.ec2_url, self.launcher.region)
        alive = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
        while not self._stop.wait(self.poll_s):
            with contextlib.suppress(Exception):  # the emulator stopping, or one bad boot
                for reservation in ec2.describe_instances(Filters=alive)["Reservations"]:
                    for instance in reservation["Instances"]:
                        if instance["InstanceId"] not in self.launcher.processes:
                            self.launcher.launch(instance["InstanceId"])


def _client(service: str, url: str, region: str = REGION) -> Any:
    import boto3

    factory: Any = boto3.client  # any service by name (the stubs want a literal)
    return factory(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=DEV_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DEV_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


_SAMPLE_TRAIN = """\"\"\"A tiny training: fits y = 2x + 1, one checkpoint per epoch.

python train.py [EPOCHS] [SECONDS PER EPOCH]; metrics go to the run's tracking root.
\"\"\"
import json, os, sys, time
from pathlib import Path

epochs, pause = int(sys.argv[1]), float(sys.argv[2])
points = [(x / 10, 2 * x / 10 + 1) for x in range(20)]
w = b = loss = 0.0
project = None
if os.environ.get("FERRY_RUN_URL"):  # set by ferry exec: log metrics beside the run
    from ferry import Rubicon

    tracking = Rubicon(root_dir=os.environ["FERRY_RUN_URL"] + "tracking")
    project = tracking.get_or_create_project("sample")
for epoch in range(epochs):
    for _ in range(50):
        w -= 0.1 * sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
        b -= 0.1 * sum(2 * (w * x + b - y) for x, y in points) / len(points)
    loss = sum((w * x + b - y) ** 2 for x, y in points) / len(points)
    print(f"epoch {epoch} loss {loss:.5f}", flush=True)
    checkpoint = {"epoch": epoch, "w": w, "b": b}
    Path(f"data/checkpoints/ckpt-{epoch:03d}.json").write_text(json.dumps(checkpoint))
    if project is not None:
        project.log_experiment(f"epoch-{epoch}").log_metric("loss", loss)
    time.sleep(pause)
Path("data/models/model.json").write_text(json.dumps({"w": w, "b": b, "loss": loss}))
"""

_SAMPLE_RUN = """
[run]
name = "sample"
instance_type = "g5.xlarge"
ami = "name:{ami}"
ami_owners = ["self"]
git_url = "{git_url}"
train = "python train.py {epochs} {pause}"
max_runtime = "30m"
heartbeat = "1s"
log_flush = "1s"
"""


def write_sample_project(
    folder: Path, remote_root: str, *, epochs: int = 5, pause: float = 0.5
) -> Path:
    """A git repository at ``folder``: a tiny training and a ``ferry.toml`` with seed 002's
    four mappings under ``remote_root`` and a ``[run]`` table for a local EC2 (the demo's
    and the benchmark's project; the README builds the same by hand)."""
    from ferry.sync.workspace import DEFAULT_MAPPINGS, init_workspace

    folder.mkdir(parents=True)
    (folder / "train.py").write_text(_SAMPLE_TRAIN)
    toml = init_workspace(folder, remote_root)
    run = _SAMPLE_RUN.format(ami=DEV_AMI_NAME, git_url=folder, epochs=epochs, pause=pause)
    toml.write_text(toml.read_text() + run)
    for mapping in DEFAULT_MAPPINGS:
        (folder / mapping.local / ".gitkeep").write_text("")  # git keeps no empty folder
    identity = {"GIT_AUTHOR_NAME": "ferry", "GIT_AUTHOR_EMAIL": "dev@ferry.invalid"}
    env = {**os.environ, **identity, "GIT_COMMITTER_NAME": "ferry"}
    env["GIT_COMMITTER_EMAIL"] = identity["GIT_AUTHOR_EMAIL"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run(["git", *command], cwd=folder, env=env, check=True)
    return folder
