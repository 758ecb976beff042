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


def test_sync_is_content_exact_and_works_from_a_memory_root(
    tmp_path: Path, s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    options = {"endpoint_url": s3_server.url, "region": "us-east-1"}
    local = Rubicon(root_dir=str(tmp_path / "root"), **options)
    experiment = local.create_project("P").log_experiment("e")
    experiment.log_artifact(data_bytes=b"weights-1", name="model.bin")
    target = f"s3://{bucket}/root"
    local.sync("P", target)
    # The same size, an older modification time: aws s3 sync (and rubicon-ml) miss it.
    data = next((tmp_path / "root").rglob("artifacts/*/data"))
    before = data.stat()
    data.write_bytes(b"weights-2")
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    assert local.sync("P", target) == 1
    remote = Rubicon(root_dir=target, **options).get_project("P").experiment(id=experiment.id)
    assert remote.artifact(name="model.bin").get_data() == b"weights-2"

    memory = Rubicon(persistence="memory", **options)
    memory.create_project("M").log_experiment("m").log_metric("auc", 0.7)
    assert memory.sync("M", target) >= 3
    assert [e.name for e in Rubicon(root_dir=target, **options).get_project("M").experiments()] == [
        "m"
    ]


def test_sync_from_an_s3_root_says_what_to_use_instead(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    import pytest

    from ferry.errors import RubiconException

    options = {"endpoint_url": s3_server.url, "region": "us-east-1"}
    on_s3 = Rubicon(root_dir=f"s3://{bucket}/root", **options)
    on_s3.create_project("S")
    with pytest.raises(RubiconException, match="already on S3") as caught:
        on_s3.sync("S", f"s3://{bucket}/other")
    assert "ferry sync s3://" in str(caught.value)
