"""A run made ready for ``ferry exec``: a real git repository, a dataset in the bucket,
``bundle/run.json`` in the run's prefix; and ``ferry exec`` started as a real process
against the local S3 server (ministack)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from tests.runs.project import make_project

from ferry.devserver import LocalS3Server
from ferry.runs import layout
from ferry.runs.runconfig import GitSource, RunConfig, WorkspaceConfig
from ferry.storage.s3 import S3Options, S3Store
from ferry.sync.scan import CHECKSUM_KEY, checksum_file
from ferry.sync.workspace import DEFAULT_MAPPINGS

PYTHON = sys.executable
FERRY = [PYTHON, "-m", "ferry"]  # as user data runs it


@dataclass
class Run:
    """One run's prefix, its config, and the executors started for it."""

    config: RunConfig
    run_url: str
    store: S3Store  # the run's prefix
    bucket_store: S3Store  # the whole bucket
    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(
        self,
        *,
        rank: int | None = None,
        world: int = 1,
        imds_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """``ferry exec`` as a process of its own (in its own process group)."""
        name = "exec" if rank is None else f"exec-rank{rank}"
        command = [*FERRY, "exec", self.run_url, "--workdir", str(self.tmp / name)]
        if imds_url:
            command += ["--imds-url", imds_url]
        process_env = {**self.env, **(env or {})}
        if rank is not None:
            process_env.update(RANK=str(rank), WORLD_SIZE=str(world))
        process = subprocess.Popen(
            command,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def exec(self, timeout: float = 60, **kwargs: Any) -> tuple[int, str]:
        """Run ``ferry exec`` to its end: (exit code, its output)."""
        process = self.start(**kwargs)
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output

    def update(self, **fields: Any) -> None:
        """Change the run's config (``bundle/run.json``) before it starts."""
        self.config = replace(self.config, **fields)
        self.store.put(layout.RUN_JSON, self.config.to_json())

    def json(self, key: str) -> dict[str, Any]:
        return json.loads(self.store.get(key))  # type: ignore[no-any-return]

    def keys(self, prefix: str = "") -> list[str]:
        return [i.key for i in self.store.list(prefix)]

    def log(self, rank: int = 0) -> str:
        """The rank's streamed log, chunks joined in order."""
        keys = sorted(self.keys(f"{layout.LOGS}{rank}/"))
        return b"".join(self.store.get(k) for k in keys).decode()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            time.sleep(0.1)

    def phase(self) -> str:
        try:
            return str(self.json(layout.STATUS)["phase"])
        except Exception:  # not there yet
            return ""

    def workdir(self, rank: int | None = None) -> Path:
        return self.tmp / ("exec" if rank is None else f"exec-rank{rank}")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def dataset() -> bytes:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["label"] = (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(int)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


@pytest.fixture
def exec_env(s3_server: LocalS3Server, dev_credentials: None) -> dict[str, str]:
    """The environment user data gives ferry exec: endpoints, region, credentials."""
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL_S3=s3_server.url,
        AWS_DEFAULT_REGION="us-east-1",
        FERRY_MAX_ATTEMPTS="2",
        PATH=f"{Path(PYTHON).parent}:{env.get('PATH', '/usr/bin:/bin')}",
    )
    return env


MakeRun = Callable[..., Run]


@pytest.fixture
def make_run(
    bucket: str, s3_options: S3Options, exec_env: dict[str, str], tmp_path: Path
) -> Iterator[MakeRun]:
    """Builds a run: ``make_run(train="python train.py --epochs 2", **RunConfig fields)``."""
    made: list[Run] = []

    def make(train: str = "python train.py --epochs 3", **fields: Any) -> Run:
        remote_root = f"s3://{bucket}/ws"
        repo = make_project(tmp_path / f"repo-{len(made)}", remote_root)
        bucket_store = S3Store(f"s3://{bucket}", s3_options)
        data = tmp_path / "train.parquet"
        data.write_bytes(dataset())
        bucket_store.put_file(
            "ws/cached-datasets/train.parquet",
            data,
            metadata={CHECKSUM_KEY: checksum_file(data)},
        )
        bucket_store.put("ws/cached-datasets/notes/README.txt", b"no checksum recorded\n")
        run_id = layout.new_run_id("test")
        config = RunConfig(
            run_id=run_id,
            ferry_version="0.1.0",
            region="us-east-1",
            workspace=WorkspaceConfig(remote_root, DEFAULT_MAPPINGS),
            train=train,
            max_runtime_s=60,
            grace_s=2,
            pull=("cached-datasets",),
            push=("logs", "models", "checkpoints"),
            git=GitSource(str(repo), "main"),
            setup=("echo setup-ran > data/logs/setup.txt",),
            heartbeat_s=0.5,
            log_flush_s=0.3,
        )
        config = replace(config, **fields)
        run_url = f"s3://{bucket}/ws/runs/{run_id}/"
        store = S3Store(run_url, s3_options)
        store.put(layout.RUN_JSON, config.to_json())
        run = Run(config, run_url, store, bucket_store, dict(exec_env), tmp_path)
        made.append(run)
        return run

    yield make
    for run in made:
        run.stop_all()
