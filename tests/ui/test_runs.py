"""The Runs page's API through Starlette's test client: a whole run on the emulators (EC2 on
moto, S3 on ministack, the instance a local process), and runs written step by step by
ferry.runs' own writers (tests/ui/runs_data.py) to watch one while it is live."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ferry.devec2 import LocalLauncher
from ferry.runs.cost import estimate
from ferry.runs.layout import HEARTBEATS, PHASES
from ferry.runs.ledger import Ledger
from ferry.runs.provider import Resource
from ferry.runs.reader import RunsReader
from ferry.storage.s3 import S3Options
from ferry.ui.app import create_app
from ferry.ui.model_source import ModelSource
from ferry.ui.runs_source import RunsSource
from ferry.ui.server import build_app
from ferry.ui.tracking_source import TrackingSource
from tests.runs.conftest import (  # noqa: F401 (fixtures of a whole run on the emulators)
    aws_env,
    invoke,
    launcher,
    moto_server,
    project,
    run_ferry,
)
from tests.ui.runs_data import WrittenRun

pytestmark = pytest.mark.timeout(120)
AHEAD = timedelta(seconds=90)  # the dashboard's clock runs this far after the instance's


def get(client: TestClient, path: str, **query: Any) -> Any:
    answer = client.get(f"/api/{path}", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_whole_run_on_the_emulators_as_ferry_ui_finds_it(
    project: Any,  # noqa: F811
    launcher: LocalLauncher,  # noqa: F811
) -> None:
    ran = run_ferry(launcher, project("--epochs 3"))
    assert ran.code == 0, ran.why()
    report, run_id = ran.report, ran.report["run_id"]
    # As `ferry ui` builds it: the ledger `ferry runs ls` reads, S3 from the same settings.
    app = build_app([], [], "127.0.0.1", {})
    with TestClient(app, base_url="http://127.0.0.1") as client:
        listing = get(client, "runs")
        (row,) = listing["runs"]
        assert listing["ledger"] == str(Ledger().folder)
        assert (row["run_id"], row["state"], row["exit_code"]) == (run_id, "succeeded", 0)
        assert row["done"] and row["left_count"] == 0 and row["instance_type"] == "t3.micro"
        assert row["cost"] == {
            "total": report["cost"]["total"],
            "text": report["cost"]["text"],
            "final": True,
        }
        (ls,) = json.loads(invoke(None, "runs", "ls", "--json").stdout)
        assert (ls["state"], ls["cost"], ls["left"]) == ("succeeded", row["cost"]["text"], 0)

        run = get(client, "run", id=run_id)
        assert list(run["phases"]) == list(PHASES)
        assert all(span["seconds"] is not None for span in run["phases"].values())
        assert run["phases"]["train"] == report["phases"]["train"]
        text = (Ledger().folder / f"{run_id}.report.txt").read_text()
        assert run["report_text"] == text and "0 cost-generating resources left" in text
        assert run["report"]["destroyed"] == report["destroyed"] and run["problems"] == []

        resources = get(client, "run/resources", id=run_id, width=400)
        assert resources["history"] and resources["count"] >= 2  # first beat and last
        (system,) = resources["charts"]  # no GPU on this machine: no GPU chart
        assert [s["name"] for s in system["series"]] == ["CPU", "memory", "disk"]
        memory = system["series"][1]
        assert len(memory["x"]) == resources["count"] and all(0 < y < 100 for y in memory["y"])
        assert resources["latest"]["metrics"]["epoch"] == 3  # the training's tracked metrics

        log = get(client, "run/log", id=run_id)["text"]
        assert "epoch 3 accuracy" in log
        assert log.endswith("[ferry] run succeeded, exit code 0\n")
        tail = get(client, "run/log", id=run_id, chars=40)["text"]
        assert tail == "[ferry] run succeeded, exit code 0\n"  # cut at a line start
        page = client.get("/run", params={"id": run_id})
        assert page.status_code == 200 and 'src="/static/run.js"' in page.text


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()  # the user state folder's (each test has its own XDG_STATE_HOME)


@pytest.fixture
def client(ledger: Ledger, s3_options: S3Options) -> Iterator[TestClient]:
    reader = RunsReader(ledger, s3_options, clock=lambda: datetime.now(UTC) + AHEAD)
    app = create_app(
        TrackingSource.open([]),
        ModelSource([]),
        runs=RunsSource(reader),
        allowed_hosts=["testserver"],
    )
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def write_run(ledger: Ledger, bucket: str, s3_options: S3Options, tmp_path: Path) -> Any:
    def write(name: str = "train", **options: Any) -> WrittenRun:
        folder = tmp_path / f"run-{name}"
        return WrittenRun(ledger, f"s3://{bucket}", s3_options, folder, name=name, **options)

    return write


def test_a_live_run_shows_its_phase_heartbeat_resources_log_and_cost_so_far(
    client: TestClient, write_run: Any
) -> None:
    run = write_run().launched()
    (row,) = get(client, "runs")["runs"]
    assert (row["state"], row["phase"], row["heartbeat_at"], row["done"]) == (
        "starting",
        "",
        None,
        False,
    )
    run.enter("boot")
    run.beat(cpu=20, mem=30)
    run.enter("train")
    run.beat(cpu=80, mem=50, epoch=1, loss=0.5)
    run.log("epoch 1 accuracy 0.81\n")

    (row,) = get(client, "runs")["runs"]
    assert (row["state"], row["phase"], row["exit_code"]) == ("running", "train", None)
    assert AHEAD.total_seconds() - 5 < row["heartbeat_age_s"] < AHEAD.total_seconds() + 5
    so_far = estimate("t3.micro", row["age_s"], 10)
    assert row["cost"] == {"total": so_far.total, "text": so_far.text(), "final": False}
    assert row["age_s"] >= AHEAD.total_seconds() and row["left_count"] is None

    detail = get(client, "run", id=run.run_id)
    assert list(detail["phases"]) == ["boot", "train"]
    assert detail["phases"]["boot"]["end"] and detail["phases"]["train"]["end"] is None
    assert detail["phases"]["train"]["seconds"] >= AHEAD.total_seconds()  # open: so far
    assert detail["heartbeat"]["metrics"] == {"epoch": 1, "loss": 0.5}
    assert detail["heartbeat_at"] == detail["heartbeat"]["time"] == row["heartbeat_at"]
    assert detail["report"] is None and detail["report_text"] is None
    assert detail["problems"] == []

    resources = get(client, "run/resources", id=run.run_id)
    assert resources["history"] and resources["count"] == 2
    cpu, memory, disk = resources["charts"][0]["series"]
    assert (cpu["name"], cpu["y"], memory["y"]) == ("CPU", [20.0, 80.0], [30.0, 50.0])
    assert cpu["x"] == memory["x"] == disk["x"] and cpu["x"][0] < cpu["x"][1]
    assert get(client, "run/log", id=run.run_id)["text"] == "epoch 1 accuracy 0.81\n"

    run.beat(cpu=60, mem=55, epoch=2, loss=0.3)
    run.log("epoch 2 accuracy 0.9\n")
    assert get(client, "run/resources", id=run.run_id)["count"] == 3  # the newest chunk again
    assert get(client, "run/log", id=run.run_id)["text"].endswith("epoch 2 accuracy 0.9\n")


def test_once_torn_down_the_report_gives_the_final_cost_and_what_is_left(
    client: TestClient, write_run: Any
) -> None:
    clean = write_run("clean", started=datetime.now(UTC) - timedelta(hours=1)).launched()
    for phase in ("boot", "train", "push", "finish"):
        clean.enter(phase)
        clean.beat(cpu=50, mem=40)
    clean.finish(training_code=0)
    report = clean.tear_down()
    (row,) = get(client, "runs")["runs"]
    assert (row["state"], row["exit_code"], row["done"], row["left_count"]) == (
        "succeeded",
        0,
        True,
        0,
    )
    cost = report["cost"]
    assert row["cost"] == {"total": cost["total"], "text": cost["text"], "final": True}
    detail = get(client, "run", id=clean.run_id)
    assert all(span["end"] for span in detail["phases"].values())
    assert "0 cost-generating resources left" in detail["report_text"]

    volume = Resource("volume", "vol-0abc", "available")
    leaky = write_run("leaky").launched()
    leaky.enter("boot")
    leaky.finish(training_code=2)
    leaky.tear_down(left=[volume])
    newest, older = get(client, "runs")["runs"]
    assert (newest["run_id"], older["run_id"]) == (leaky.run_id, clean.run_id)
    assert (newest["state"], newest["exit_code"], newest["left_count"]) == ("failed", 2, 1)
    text = get(client, "run", id=leaky.run_id)["report_text"]
    assert f"1 cost-generating resources LEFT: {volume}" in text


def test_each_gpu_has_its_use_and_memory_charted(
    client: TestClient, write_run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "gpu-tools"  # nvidia-smi as the instance's probe runs it
    tools.mkdir()
    (tools / "nvidia-smi").write_text('#!/bin/sh\ncat "$(dirname "$0")/gpus.csv"\n')
    (tools / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    run = write_run().launched()
    run.enter("train")
    for use in (10, 90):
        (tools / "gpus.csv").write_text(f"0, {use}, 4096, 16384\n1, [N/A], 8192, 16384\n")
        run.beat(cpu=50, mem=50)
    _, gpus = get(client, "run/resources", id=run.run_id)["charts"]
    assert gpus["title"] == "GPUs (%)"
    assert {s["name"]: s["y"] for s in gpus["series"]} == {
        "gpu0 use": [10.0, 90.0],
        "gpu0 memory": [25.0, 25.0],
        "gpu1 memory": [50.0, 50.0],  # its use cannot be read: no line for it
    }


def test_a_run_without_a_heartbeat_history_has_its_latest_heartbeat(
    client: TestClient, write_run: Any
) -> None:
    run = write_run().launched()
    run.enter("train")
    run.beat(cpu=25, mem=35, epoch=4)
    # A ferry from before the history wrote heartbeat.json only.
    run.store.delete([info.key for info in run.store.list(HEARTBEATS)])
    resources = get(client, "run/resources", id=run.run_id)
    assert not resources["history"] and resources["count"] == 1
    assert resources["latest"]["cpu_percent"] == 25.0
    assert resources["latest"]["metrics"] == {"epoch": 4}


def test_a_run_encrypted_with_a_key_not_given_says_how_to_give_it(
    client: TestClient, write_run: Any
) -> None:
    write_run(sse_c=True)  # launched with the workspace's key; no key here
    run = write_run("plain")
    assert get(client, "run", id=run.run_id)["problems"] == []
    (encrypted,) = [r for r in get(client, "runs")["runs"] if r["run_id"] != run.run_id]
    problems = get(client, "run", id=encrypted["run_id"])["problems"]
    assert len(problems) == 1 and "FERRY_SSE_C_KEY" in problems[0]


def test_no_runs_and_unknown_runs_say_what_to_do(client: TestClient, ledger: Ledger) -> None:
    assert get(client, "runs") == {"ledger": str(ledger.folder), "runs": []}
    unknown = client.get("/api/run", params={"id": "train-20250101-120000-a1b2c3"})
    assert unknown.status_code == 400 and "ferry runs ls" in unknown.json()["error"]
    odd = client.get("/api/run/log", params={"id": "../../etc/passwd"})
    assert odd.status_code == 400 and "is not a run id" in odd.json()["error"]
    assert client.get("/api/run").json()["error"].startswith("The request lacks 'id'")
