"""Rubicon.sync: a local project copied to S3 by ferry, then read from S3."""

from __future__ import annotations

import os
from pathlib import Path

from ferry import Rubicon
from ferry.devserver import LocalS3Server


def test_sync_copies_a_local_project_to_s3_and_only_changes_later(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    options = {"endpoint_url": s3_server.url, "region": "us-east-1"}
    local = Rubicon(root_dir=str(tmp_path / "rubicon-root"), **options)
    project = local.create_project("Sync Example")
    experiment = project.log_experiment("e")
    experiment.log_metric("accuracy", 0.9)
    experiment.log_artifact(data_bytes=b"weights", name="model.bin")
    other = local.create_project("Not Synced")
    other.log_experiment("x")

    sent = local.sync(project_name="Sync Example", s3_root_dir=f"s3://{bucket}/rubicon-root")
    assert sent == 5  # project, experiment, metric, artifact data and metadata
    remote = Rubicon(root_dir=f"s3://{bucket}/rubicon-root", **options)
    assert [p.name for p in remote.projects()] == ["Sync Example"]
    copy = remote.get_project("Sync Example").experiment(id=experiment.id)
    assert copy.metric("accuracy").value == 0.9
    assert copy.artifact(name="model.bin").get_data() == b"weights"

    assert local.sync("Sync Example", f"s3://{bucket}/rubicon-root") == 0
    experiment.log_metric("loss", 0.1)
    assert local.sync("Sync Example", f"s3://{bucket}/rubicon-root") == 1
    os.utime(tmp_path / "rubicon-root")  # unrelated changes do not matter
    assert local.sync("Sync Example", f"s3://{bucket}/rubicon-root") == 0
