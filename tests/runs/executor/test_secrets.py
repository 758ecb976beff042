"""Secrets from SSM (moto's server): a git token for a private repository and the SSE-C
key, used by ferry exec and never written to a log, the bucket or the work folder."""

from __future__ import annotations

import base64
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.runs.conftest import aws_client
from tests.runs.executor.conftest import MakeRun, Run
from tests.support.gitserver import GitServer

from ferry.devec2 import LocalEc2Server
from ferry.errors import FerryError
from ferry.runs import layout
from ferry.runs.runconfig import GitSource
from ferry.storage.s3 import S3Options, S3Store, SseCKey

SecretMaker = Callable[[Run, str, str], dict[str, str]]


@pytest.fixture
def ssm_secret(moto_server: LocalEc2Server) -> Iterator[SecretMaker]:
    """Stores a run's secret in SSM as the dev machine does (and deletes it afterwards:
    the emulator is shared, and the fault matrix checks it is left empty)."""
    ssm = aws_client("ssm", moto_server.url)
    made: list[str] = []

    def put(run: Run, name: str, value: str) -> dict[str, str]:
        parameter = layout.ssm_name(run.config.run_id, name)
        ssm.put_parameter(Name=parameter, Value=value, Type="SecureString")
        made.append(parameter)
        return {name: parameter}

    yield put
    for parameter in made:
        ssm.delete_parameter(Name=parameter)


def _served(run: Run, tmp_path: Path) -> Path:
    """The run's repository as a bare repository served over git's dumb HTTP protocol."""
    assert run.config.git is not None
    root = tmp_path / "served"
    bare = root / "project.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", run.config.git.url, str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    return root


def _nowhere(run: Run, secret: str, output: str) -> None:
    """The secret is in no object of the bucket, no file of the work folder, no output."""
    needle = secret.encode()
    assert secret not in output
    for info in run.bucket_store.list(""):
        assert needle not in run.bucket_store.get(info.key), info.key
    for path in run.workdir().rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert needle not in path.read_bytes(), path


@pytest.fixture
def git_server(make_run: MakeRun, tmp_path: Path) -> tuple[Run, GitServer, str]:
    run = make_run(train="python train.py --epochs 1")
    token = "ghp_" + secrets.token_hex(18)
    server = GitServer(_served(run, tmp_path), token)
    yield run, server, token  # type: ignore[misc]
    server.stop()


def test_a_git_token_from_ssm_clones_a_private_repository_and_is_kept_out_of_everything(
    git_server: tuple[Run, GitServer, str],
    moto_server: LocalEc2Server,
    ssm_secret: SecretMaker,
) -> None:
    run, server, token = git_server
    run.store.put(layout.override_key("config/params.json"), b'{"lr": 0.5}')
    run.update(
        git=GitSource(f"{server.url}/project.git", "main", ("config/params.json",)),
        secrets=ssm_secret(run, "git-token", token),
    )
    code, output = run.exec(env={"AWS_ENDPOINT_URL_SSM": moto_server.url})
    assert code == 0, output + run.log()
    assert server.denied() >= 1  # the repository really wanted the token
    checkout = run.workdir() / "repo"
    assert (checkout / "config" / "params.json").read_text() == '{"lr": 0.5}'
    assert "override written: config/params.json" in run.log()
    _nowhere(run, token, output)


def test_a_wrong_token_fails_the_checkout_and_is_not_shown(
    git_server: tuple[Run, GitServer, str],
    moto_server: LocalEc2Server,
    ssm_secret: SecretMaker,
) -> None:
    run, server, _ = git_server
    wrong = "ghp_" + secrets.token_hex(18)
    run.update(
        git=GitSource(f"{server.url}/project.git", "main"),
        secrets=ssm_secret(run, "git-token", wrong),
    )
    code, output = run.exec(env={"AWS_ENDPOINT_URL_SSM": moto_server.url})
    assert code != 0
    final = run.json(layout.FINAL)
    assert final["state"] == "failed" and final["message"].startswith("checkout: ")
    assert "train" not in final["phases"]
    _nowhere(run, wrong, output)


def test_a_missing_secret_fails_the_run_before_any_work(
    make_run: MakeRun, moto_server: LocalEc2Server
) -> None:
    run = make_run()
    run.update(secrets={"git-token": layout.ssm_name(run.config.run_id, "git-token")})
    code, output = run.exec(env={"AWS_ENDPOINT_URL_SSM": moto_server.url})
    assert code == 5, output  # NotFoundError
    final = run.json(layout.FINAL)
    assert final["state"] == "failed" and "does not exist" in final["message"]
    assert list(final["phases"]) == ["boot", "finish"]


def test_sse_c_key_from_ssm_encrypts_the_data_and_the_bus(
    make_run: MakeRun,
    moto_server: LocalEc2Server,
    ssm_secret: SecretMaker,
    s3_options: S3Options,
    bucket: str,
) -> None:
    text = base64.b64encode(secrets.token_bytes(32)).decode()
    encrypted = S3Options(**{**vars(s3_options), "sse_c": SseCKey.from_text(text, "test")})
    run = make_run(train="python train.py --epochs 2")
    with_key = S3Store(f"s3://{bucket}", encrypted)
    for key in ("ws/cached-datasets/train.parquet", "ws/cached-datasets/notes/README.txt"):
        data = run.bucket_store.get(key)
        run.bucket_store.delete([key])
        with_key.put(key, data)
    run.update(sse_c=True, secrets=ssm_secret(run, "sse-c-key", text))
    code, output = run.exec(env={"AWS_ENDPOINT_URL_SSM": moto_server.url})
    run_with_key = S3Store(run.run_url, encrypted)
    assert code == 0, output + run_with_key.get(layout.STATUS).decode()
    for store, key in ((run.store, layout.STATUS), (run.bucket_store, "ws/models/model.pkl")):
        with pytest.raises(FerryError):
            store.get(key)  # no key: refused
    assert with_key.get("ws/models/model.pkl")
    assert b'"succeeded"' in run_with_key.get(layout.FINAL)
    heartbeat = run_with_key.get(layout.HEARTBEAT).decode()
    assert '"epoch": 2' in heartbeat  # the training tracked with the key; the reader read it
    assert text not in output


FAKE_SSH = """#!/bin/sh
# ssh as git calls it: ssh [options] host command. Records the key it was given (and that
# only its owner may read it), then runs the command here, as sshd would there.
while [ $# -gt 1 ]; do
  case "$1" in
    -i) echo "mode=$(stat -c %a "$2") key=$(cat "$2")" >> "$FAKE_SSH_LOG"; shift 2 ;;
    -o|-p|-l) shift 2 ;;
    *) shift ;;
  esac
done
exec sh -c "$1"
"""


def test_a_deploy_key_from_ssm_is_used_for_ssh_and_removed_after_the_clone(
    make_run: MakeRun, moto_server: LocalEc2Server, ssm_secret: SecretMaker, tmp_path: Path
) -> None:
    run = make_run(train="python train.py --epochs 1")
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secrets.token_hex(40) + "\n-----END"
    tools = tmp_path / "fake-ssh"
    tools.mkdir()
    (tools / "ssh").write_text(FAKE_SSH)
    (tools / "ssh").chmod(0o755)
    assert run.config.git is not None
    run.update(
        git=GitSource(f"ssh://git@repo.invalid{run.config.git.url}", "main"),
        secrets=ssm_secret(run, "deploy-key", key),
    )
    log = tmp_path / "ssh.log"
    code, output = run.exec(
        env={
            "AWS_ENDPOINT_URL_SSM": moto_server.url,
            "PATH": f"{tools}:{run.env['PATH']}",
            "FAKE_SSH_LOG": str(log),
        }
    )
    assert code == 0, output + run.log()
    used = log.read_text()
    assert used.startswith("mode=600 key=-----BEGIN OPENSSH PRIVATE KEY-----")
    assert key.splitlines()[1] in used  # git really went through ssh with the key
    assert not list(Path("/tmp").glob("ferry-git-*/deploy-key"))  # removed after the clone
    _nowhere(run, key.splitlines()[1], output)
