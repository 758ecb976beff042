"""The executor's parts on their own: ranks, the system probe, IMDS, the state machine,
the log stream and the child supervision."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.imds import FakeImds

from ferry.errors import AlreadyExistsError, ConfigError, EndpointError, FerryError
from ferry.runs.executor.bus import Bus
from ferry.runs.executor.child import StopRequest, run_command
from ferry.runs.executor.imds import Imds, SpotNotice
from ferry.runs.executor.logstream import LogStream
from ferry.runs.executor.probe import GpuSample, SystemProbe, parse_nvidia_smi
from ferry.runs.executor.ranks import Rank, rank_from_env
from ferry.runs.executor.state import Failure, RunState, verdict
from ferry.runs.executor.watch import Control
from ferry.storage.memory import MemoryStore

# -- ranks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Rank()),
        ({"RANK": "2", "WORLD_SIZE": "4"}, Rank(2, 4, "torchrun")),
        ({"SKYPILOT_NODE_RANK": "1", "SKYPILOT_NUM_NODES": "3"}, Rank(1, 3, "SkyPilot")),
        (
            {"SM_CURRENT_HOST": "algo-2", "SM_HOSTS": '["algo-1", "algo-2"]'},
            Rank(1, 2, "SageMaker"),
        ),
        # torchrun's variables win over SkyPilot's when both are set
        ({"RANK": "0", "WORLD_SIZE": "1", "SKYPILOT_NODE_RANK": "5"}, Rank(0, 1, "torchrun")),
    ],
)
def test_rank_from_the_engine(env: dict[str, str], expected: Rank) -> None:
    assert rank_from_env(env) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"RANK": "x"},
        {"RANK": "3", "WORLD_SIZE": "2"},
        {"SM_CURRENT_HOST": "algo-9", "SM_HOSTS": '["algo-1"]'},
        {"SM_CURRENT_HOST": "algo-1", "SM_HOSTS": "not json"},
    ],
)
def test_nonsense_rank_variables_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        rank_from_env(env)


# -- system probe -----------------------------------------------------------------------

FAKE_NVIDIA_SMI = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
printf '0, 87, 10240, 81920\\n1, [N/A], [Not Supported], 81920\\n'
"""


def test_gpus_come_from_nvidia_smi_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (tmp_path / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    sample = SystemProbe(tmp_path).sample()
    assert sample.gpus == [
        GpuSample(0, 87.0, 10240 * 1024 * 1024, 81920 * 1024 * 1024),
        GpuSample(1, None, None, 81920 * 1024 * 1024),
    ]
    assert (
        "--query-gpu=index,utilization.gpu,memory.used,memory.total"
        in (tmp_path / "calls").read_text()
    )


def test_no_nvidia_smi_means_no_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert SystemProbe(tmp_path).sample().gpus == []


def test_parse_nvidia_smi_skips_what_is_not_a_gpu_line() -> None:
    assert parse_nvidia_smi("No devices were found\n\n") == []


def test_cpu_memory_and_disk_from_proc(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n")
    (proc / "stat").write_text("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n")
    probe = SystemProbe(tmp_path, proc=proc)
    (proc / "stat").write_text("cpu  175 0 100 825 0 0 0 0 0 0\n")  # 75 busy of 100
    sample = probe.sample()
    assert sample.cpu_percent == 75.0
    assert (sample.mem_percent, sample.mem_used_bytes) == (75.0, 750 * 1024)
    assert sample.disk_percent is not None and 0 <= sample.disk_percent <= 100


def test_the_real_machine_can_be_read(tmp_path: Path) -> None:
    probe = SystemProbe(tmp_path)
    time.sleep(0.05)
    sample = probe.sample()
    assert sample.mem_used_bytes and sample.mem_used_bytes > 0
    assert sample.disk_percent is not None


# -- IMDS -------------------------------------------------------------------------------


def test_spot_notice_through_imdsv2(fake_imds: FakeImds) -> None:
    imds = Imds(fake_imds.url)
    assert imds.spot_notice() is None
    assert imds.spot_notice() is None
    fake_imds.interrupt(seconds=120)
    notice = imds.spot_notice()
    assert notice is not None and notice.action == "terminate"
    assert (
        notice.time is not None and 100 < (notice.time - datetime.now(UTC)).total_seconds() <= 121
    )
    assert fake_imds.requests() == 4  # one token, three reads


def test_an_unreachable_metadata_service_is_an_endpoint_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EndpointError, match="did not answer"):
        Imds(f"http://127.0.0.1:{port}", timeout=0.5).spot_notice()


# -- state and verdict ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "training", "failures", "expected"),
    [
        (None, 0, [], ("succeeded", 0)),
        (None, 3, [], ("failed", 3)),
        (None, 0, [Failure("push", "S3 down", 8)], ("failed", 8)),
        (None, 137, [Failure("push", "S3 down", 8)], ("failed", 137)),
        (None, None, [Failure("setup", "exit 4", 4)], ("failed", 4)),
        ("cancelled", 143, [], ("cancelled", 143)),
        ("timed-out", 0, [], ("timed-out", 1)),
        ("interrupted", 143, [Failure("push", "late", 1)], ("interrupted", 143)),
    ],
)
def test_verdict(
    stop: str | None, training: int | None, failures: list[Failure], expected: tuple[str, int]
) -> None:
    result = verdict(stop_reason=stop, training_code=training, failures=failures)
    assert (result.state, result.exit_code) == expected


def test_phases_only_move_forward() -> None:
    state = RunState("run-20250101-000000-abcdef", Rank())
    now = datetime(2025, 1, 1, tzinfo=UTC)
    state.begin("checkout", now)
    state.begin("train", now)
    with pytest.raises(ValueError, match="after train"):
        state.begin("pull", now)
    status = state.status(now)
    assert list(status["phases"]) == ["checkout", "train"]
    assert status["phases"]["checkout"]["end"] == "2025-01-01T00:00:00.000Z"
    assert status["phases"]["train"]["end"] is None


# -- log stream -------------------------------------------------------------------------


def test_log_chunks_are_create_only_and_in_order(tmp_path: Path) -> None:
    store = MemoryStore("logs")
    store.put("00000001.log", b"someone else's chunk")

    def sink(seq: int, data: bytes) -> None:
        store.put(f"{seq:08d}.log", data, mode="create")

    stream = LogStream(sink, tmp_path / "local.log", flush_s=60)
    stream.write(b"one\n")
    assert stream.flush()
    stream.write(b"two\n")
    assert stream.close()
    assert store.get("00000000.log") == b"one\n"
    assert store.get("00000001.log") == b"someone else's chunk"
    assert store.get("00000002.log") == b"two\n"
    assert (tmp_path / "local.log").read_bytes() == b"one\ntwo\n"


def test_a_chunk_that_could_not_be_sent_is_kept_for_the_next_flush(tmp_path: Path) -> None:
    sent: list[bytes] = []
    failing = [True]
    errors: list[FerryError] = []

    def sink(seq: int, data: bytes) -> None:
        if failing[0]:
            raise EndpointError("S3 is down.")
        assert seq == len(sent)
        sent.append(data)

    stream = LogStream(sink, tmp_path / "local.log", flush_s=60, on_error=errors.append)
    stream.write(b"a\n")
    assert not stream.flush()
    stream.write(b"b\n")
    failing[0] = False
    assert stream.close()
    assert sent == [b"a\nb\n"] and len(errors) == 1 and stream.pending == 0


def test_the_flush_timer_sends_chunks_while_the_command_runs(tmp_path: Path) -> None:
    chunks: dict[int, bytes] = {}
    stream = LogStream(chunks.__setitem__, tmp_path / "l.log", flush_s=0.05).start()
    stop = StopRequest()
    run_command(
        "for i in 1 2 3; do echo line $i; sleep 0.15; done",
        cwd=tmp_path,
        env=os.environ,
        stream=stream,
        stop=stop,
    )
    stream.close()
    assert len(chunks) >= 2
    assert b"".join(chunks[k] for k in sorted(chunks)) == b"line 1\nline 2\nline 3\n"


def test_collision_with_an_existing_chunk_is_not_an_error(tmp_path: Path) -> None:
    calls: list[int] = []

    def sink(seq: int, data: bytes) -> None:
        calls.append(seq)
        if seq == 0:
            raise AlreadyExistsError("taken")

    stream = LogStream(sink, tmp_path / "l.log", flush_s=60)
    stream.write(b"x")
    assert stream.close() and calls == [0, 1]


def test_final_marker_is_create_only_and_cancel_is_found_by_listing() -> None:
    store = MemoryStore("run")
    bus = Bus(store, Rank())
    assert not bus.cancel_requested() and not bus.finished()
    bus.final({"state": "succeeded"})
    with pytest.raises(AlreadyExistsError):
        bus.final({"state": "failed"})
    store.put("control/cancel", b"")
    assert bus.cancel_requested() and bus.finished()
    assert b"succeeded" in store.get("final.json")


def test_other_ranks_write_only_their_own_status() -> None:
    store = MemoryStore("run-ranks")
    Bus(store, Rank(1, 2)).status({"state": "running"})
    Bus(store, Rank(0, 2)).status({"state": "running"})
    assert sorted(i.key for i in store.list()) == ["ranks/0.json", "ranks/1.json", "status.json"]


# -- child supervision ------------------------------------------------------------------


def _stream(tmp_path: Path) -> tuple[LogStream, dict[int, bytes]]:
    chunks: dict[int, bytes] = {}
    return LogStream(chunks.__setitem__, tmp_path / "child.log", flush_s=60), chunks


def test_exit_codes_and_signals_as_shells_report_them(tmp_path: Path) -> None:
    stream, _ = _stream(tmp_path)
    stop = StopRequest()
    five = run_command("exit 5", cwd=tmp_path, env=os.environ, stream=stream, stop=stop)
    killed = run_command("kill -9 $$", cwd=tmp_path, env=os.environ, stream=stream, stop=stop)
    stream.close()
    assert five.exit_code == 5
    assert (killed.exit_code, killed.signal, killed.stopped) == (137, 9, None)


def test_a_stop_sends_sigterm_then_sigkill_after_the_grace(tmp_path: Path) -> None:
    stream, _ = _stream(tmp_path)
    stop = StopRequest()
    command = "trap 'echo got TERM' TERM; while true; do sleep 0.05; done"
    threading.Timer(0.3, stop.request, ("cancelled", 0.5)).start()  # once the trap is set
    started = time.monotonic()
    finished = run_command(command, cwd=tmp_path, env=os.environ, stream=stream, stop=stop)
    took = time.monotonic() - started
    stream.close()
    assert finished.stopped == "cancelled" and finished.signal == signal.SIGKILL
    assert 0.7 < took < 5
    assert b"got TERM" in (tmp_path / "child.log").read_bytes()


def test_a_first_stop_request_wins() -> None:
    stop = StopRequest()
    assert stop.request("interrupted", 1)
    assert not stop.request("cancelled", 30)
    assert (stop.reason, stop.grace_s) == ("interrupted", 1)


def test_what_a_command_leaves_running_ends_with_it(tmp_path: Path) -> None:
    stream, _ = _stream(tmp_path)
    pid_file = tmp_path / "pid"
    run_command(
        f"sleep 300 & echo $! > {pid_file}; echo started",
        cwd=tmp_path,
        env=os.environ,
        stream=stream,
        stop=StopRequest(),
    )
    stream.close()
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the background process outlived its command")


# -- spot timing ------------------------------------------------------------------------


def test_a_spot_notice_leaves_the_push_its_share_of_the_two_minutes() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    clock = [1000.0]
    control = Control(
        stop=StopRequest(), deadline=5000.0, grace_s=90.0, clock=lambda: clock[0], wall=lambda: now
    )
    assert control.push_deadline(4000.0) == 4000.0  # no notice: the run's own limit
    assert control.on_notice(SpotNotice("terminate", now + timedelta(seconds=120)))
    assert control.stop.reason == "interrupted"
    assert control.stop.grace_s == 60.0  # not the 90 s grace: 60 s stay for the push
    assert control.push_deadline(4000.0) == 1000.0 + 120 - 10  # ends 10 s before the take
    late = Control(stop=StopRequest(), deadline=5000.0, grace_s=90.0, wall=lambda: now)
    late.on_notice(SpotNotice("terminate", now + timedelta(seconds=30)))
    assert late.stop.grace_s == 7.5  # a late notice: a quarter of what is left
