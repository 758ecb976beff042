"""``ferry exec`` end to end against the local S3 server, a real git repository and a real
(scikit-learn) training: every way a training can end, and what reaches the bucket."""

from __future__ import annotations

import pickle

from ferry.runs import layout
from tests.runs.executor.conftest import MakeRun


def test_success_checks_out_pulls_trains_pushes_and_finishes(make_run: MakeRun) -> None:
    run = make_run()
    code, output = run.exec()
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
