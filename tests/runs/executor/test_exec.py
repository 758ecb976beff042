"""``ferry exec`` end to end against the local S3 server, a real git repository and a real
(scikit-learn) training: every way a training can end, and what reaches the bucket."""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import replace
from pathlib import Path

from tests.runs.executor.conftest import MakeRun
from tests.support.imds import FakeImds
from tests.support.s3proxy import S3Proxy

from ferry.devserver import LocalS3Server
from ferry.runs import layout
from ferry.runs.runconfig import GitSource, WorkspaceConfig
from ferry.sync.workspace import DEFAULT_MAPPINGS

FAKE_NVIDIA_SMI = "#!/bin/sh\necho '0, 42, 2048, 16384'\n"


def test_success_checks_out_pulls_trains_pushes_and_finishes(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run()
    tools = tmp_path / "gpu-tools"
    tools.mkdir()
    (tools / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (tools / "nvidia-smi").chmod(0o755)
    code, output = run.exec(env={"PATH": f"{tools}:{run.env['PATH']}"})
    assert code == 0, output + run.log(0)
    final = run.json(layout.FINAL)
    assert final["state"] == "succeeded" and final["exit_code"] == 0
    status = run.json(layout.STATUS)
    assert status["state"] == "succeeded" and status["phase"] == "finish"
    assert list(status["phases"]) == list(layout.PHASES)
    assert all(times["end"] for times in status["phases"].values())
    assert final["pulled_files"] == 2
    models = run.bucket_store
    assert pickle.loads(models.get("ws/models/model.pkl")) is not None
    assert models.exists("ws/checkpoints/ckpt-003.pkl")
    assert models.get("ws/logs/setup.txt") == b"setup-ran\n"
    log = run.log(0)
    assert "epoch 3 accuracy" in log and "done: accuracy" in log
    assert log.endswith("[ferry] run succeeded, exit code 0\n")  # the last line is sent too
    manifest = run.json(layout.MANIFEST)["files"]
    keys = {entry["key"] for entry in manifest}
    assert "ws/models/model.pkl" in keys and "ws/checkpoints/ckpt-001.pkl" in keys
    for entry in manifest:
        info = models.head(entry["key"])
        assert info.size == entry["size"]
        assert info.metadata.get("ferry-xxh3-128") == entry["checksum"]
    heartbeat = run.json(layout.HEARTBEAT)
    assert heartbeat["mem_percent"] is not None and heartbeat["disk_percent"] is not None
    assert heartbeat["metrics"]["epoch"] == 3
    assert heartbeat["gpus"] == [
        {
            "index": 0,
            "util_percent": 42.0,
            "mem_used_bytes": 2048 << 20,
            "mem_total_bytes": 16384 << 20,
        }
    ]


def test_training_exit_code_is_kept_and_its_work_still_pushed(make_run: MakeRun) -> None:
    run = make_run(train="python train.py --epochs 2 --exit-code 3")
    code, output = run.exec()
    assert code == 3, output
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("failed", 3)
    assert "training exited with 3" in final["message"]
    assert run.bucket_store.exists("ws/checkpoints/ckpt-002.pkl")
    assert run.bucket_store.exists("ws/models/model.pkl")
    assert run.bucket_store.exists("ws/logs/train-rank0.txt")
    assert "done: accuracy" in run.log()


def test_kill_9_of_training_loses_no_line_and_still_pushes(make_run: MakeRun) -> None:
    run = make_run(train="python train.py --epochs 5 --kill-self-at 2")
    code, output = run.exec()
    assert code == 128 + 9, output
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("failed", 137)
    log = run.log()
    assert log.index("epoch 2 accuracy") < log.index("killing myself with SIGKILL")
    assert run.bucket_store.exists("ws/checkpoints/ckpt-002.pkl")
    assert not run.bucket_store.exists("ws/checkpoints/ckpt-003.pkl")
    assert not run.bucket_store.exists("ws/models/model.pkl")


def test_hang_past_the_soft_deadline_gets_sigterm_then_sigkill(make_run: MakeRun) -> None:
    run = make_run(
        train="python train.py --epochs 3 --hang-at 1 --on-term ignore",
        max_runtime_s=8,
        grace_s=1,
    )
    started = time.monotonic()
    code, output = run.exec()
    assert time.monotonic() - started < 30
    assert code == 128 + 9, output  # SIGTERM ignored, so SIGKILL after the grace
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("timed-out", 137)
    log = run.log()
    assert "soft deadline reached" in log and "SIGTERM: ignored" in log
    assert "epoch 2" not in log  # it never got past the hang
    assert run.bucket_store.exists("ws/logs/setup.txt")  # the push still ran
    assert run.json(layout.STATUS)["state"] == "timed-out"


def test_cancel_stops_training_which_checkpoints_and_the_checkpoint_is_pushed(
    make_run: MakeRun,
) -> None:
    run = make_run(train="python train.py --epochs 500 --sleep 0.1", grace_s=5)
    process = run.start()
    run.wait_for(lambda: "epoch 2 accuracy" in run.log())
    run.store.put(layout.CANCEL, b"stopped from the dev machine")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 143, output
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("cancelled", 143)
    assert "control/cancel found" in run.log()
    assert "SIGTERM: checkpoint saved" in run.log()
    assert run.bucket_store.exists("ws/checkpoints/ckpt-last.pkl")
    assert not run.bucket_store.exists("ws/models/model.pkl")


def test_s3_unreachable_during_the_push_is_reported_and_exits_non_zero(
    make_run: MakeRun, s3_server: LocalS3Server, bucket: str
) -> None:
    proxy = S3Proxy(s3_server.url)
    try:
        run = make_run(train="python train.py --epochs 2")
        data = ",".join(f"/{bucket}/ws/{name}" for name in ("logs", "models", "checkpoints"))
        proxy.cut_on_first_put(f"/{bucket}/ws/logs", data)
        code, output = run.exec(env={"AWS_ENDPOINT_URL_S3": proxy.url})
        dropped = proxy.requests()["dropped"]
    finally:
        proxy.stop()
    assert code != 0, output
    assert dropped > 0
    assert "push failed" in output
    final = run.json(layout.FINAL)
    assert final["state"] == "failed" and final["exit_code"] == code
    assert "push" in final["message"] and final["pushed_files"] == 0
    assert not run.bucket_store.exists("ws/models/model.pkl")
    assert run.json(layout.STATUS)["state"] == "failed"


def test_spot_notice_stops_training_and_pushes_checkpoints_first(
    make_run: MakeRun, fake_imds: FakeImds
) -> None:
    run = make_run(train="python train.py --epochs 500 --sleep 0.1", market="spot", grace_s=5)
    process = run.start(imds_url=fake_imds.url)
    run.wait_for(lambda: "epoch 2 accuracy" in run.log())
    fake_imds.interrupt(seconds=120)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 143, output
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("interrupted", 143)
    log = run.log()
    assert "spot notice: terminate" in log
    assert "push: " in log and "(checkpoints, logs, models)" in log
    assert run.bucket_store.exists("ws/checkpoints/ckpt-last.pkl")
    assert fake_imds.requests() >= 3  # a token, then polls


def test_two_ranks_share_the_run_prefix(make_run: MakeRun) -> None:
    run = make_run(train="python train.py --epochs 2")
    processes = [run.start(rank=rank, world=2) for rank in (0, 1)]
    outputs = [p.communicate(timeout=90)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    for rank in (0, 1):
        assert "epoch 2 accuracy" in run.log(rank)
        document = run.json(layout.rank_key(rank))
        assert (document["state"], document["rank"], document["world_size"]) == (
            "succeeded",
            rank,
            2,
        )
    assert run.json(layout.STATUS)["rank"] == 0
    assert run.json(layout.FINAL)["state"] == "succeeded"
    assert json.loads(run.bucket_store.get("ws/models/model.json"))["rank"] == 0
    assert "models and checkpoints are pushed by rank 0" in run.log(1)
    assert not run.bucket_store.exists("ws/logs/train-rank1.txt")


def test_a_finished_run_is_never_executed_again(make_run: MakeRun) -> None:
    run = make_run(train="python train.py --epochs 1")
    assert run.exec()[0] == 0
    first = run.store.get(layout.FINAL)
    chunks = run.keys(layout.LOGS)
    code, output = run.exec(rank=0)
    assert code == 7, output
    assert "already finished" in output
    assert run.store.get(layout.FINAL) == first and run.keys(layout.LOGS) == chunks


def test_a_failed_setup_skips_training_but_still_finishes(make_run: MakeRun) -> None:
    run = make_run(setup=("echo preparing", "exit 4"))
    code, output = run.exec()
    assert code == 4, output
    final = run.json(layout.FINAL)
    assert (final["state"], final["exit_code"]) == ("failed", 4)
    assert "train" not in final["phases"] and "push" not in final["phases"]
    assert "preparing" in run.log()


def test_the_manifest_holds_what_the_push_sent_and_not_what_a_mapping_excludes(
    make_run: MakeRun, bucket: str
) -> None:
    # the manifest is what the dev machine checks is in S3: an excluded file listed there
    # was reported missing, and the run unverified
    mappings = tuple(
        replace(m, exclude=("ckpt-001.pkl",)) if m.name == "checkpoints" else m
        for m in DEFAULT_MAPPINGS
    )
    run = make_run(workspace=WorkspaceConfig(f"s3://{bucket}/ws", mappings))
    code, output = run.exec()
    assert code == 0, output + run.log(0)
    keys = {entry["key"] for entry in run.json(layout.MANIFEST)["files"]}
    assert "ws/checkpoints/ckpt-002.pkl" in keys and "ws/checkpoints/ckpt-001.pkl" not in keys
    assert not run.bucket_store.exists("ws/checkpoints/ckpt-001.pkl")
    for key in keys:
        run.bucket_store.head(key)  # every entry is in the bucket


def test_an_unforeseen_error_in_a_phase_fails_the_run(make_run: MakeRun, tmp_path: Path) -> None:
    # an override over a folder of the repository: a local OSError, not a ferry error; the
    # run must end failed (it ended 'succeeded', training never having run)
    git = GitSource(str(tmp_path / "repo-0"), "main", overrides=("data/logs",))
    run = make_run(git=git)
    run.store.put(layout.override_key("data/logs"), b"not a folder")
    code, output = run.exec()
    assert code != 0, output
    final = run.json(layout.FINAL)
    assert final["state"] == "failed", final
    assert final["message"].startswith("checkout: IsADirectoryError"), final
    assert "train" not in final["phases"]


def test_a_pulled_file_that_does_not_match_its_checksum_stops_the_run_before_training(
    make_run: MakeRun,
) -> None:
    run = make_run()
    run.bucket_store.put(
        "ws/cached-datasets/corrupt.bin",
        b"bytes changed after upload",
        metadata={"ferry-xxh3-128": "0" * 32},
    )
    code, output = run.exec()
    assert code != 0, output
    final = run.json(layout.FINAL)
    assert final["state"] == "failed" and final["message"].startswith("verify: ")
    assert "corrupt.bin" in final["message"] and "checksum" in final["message"]
    assert "train" not in final["phases"]
