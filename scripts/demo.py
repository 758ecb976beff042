"""`make demo`: a short end-to-end tour of ferry against a local S3 server and EC2.

No AWS account is needed: ferry's own local S3-compatible server (ministack) and a local
EC2 (moto's server), each installed in its own venv on first use, are started on 127.0.0.1
and stopped at the end. Every step runs the real `ferry` command line, exactly as you
would type it.
"""

from __future__ import annotations

import base64
import filecmp
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from ferry.devec2 import LocalEc2Server, LocalInstances, LocalLauncher, write_sample_project
from ferry.devserver import LocalS3Server

BIN = Path(sys.executable).parent
BUCKET = "ferry-demo"
REPO = Path(__file__).resolve().parents[1]
KEPT = REPO / ".demo"  # what the dashboard shows after the demo (the S3 server is gone)


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


TRACKING = """
from ferry import Rubicon
rubicon = Rubicon(root_dir="{url}")
project = rubicon.get_or_create_project("Churn Model")
for trees, auc in [(50, 0.81), (200, 0.86), (100, 0.84)]:
    run = project.log_experiment(f"rf-{{trees}}", model_name="RandomForest", tags=["demo"])
    run.log_parameter("n_estimators", trees)
    run.log_metric("auc", auc)
print(project.to_df()[["name", "n_estimators", "auc"]].to_string(index=False))
"""

MODELS = """
from sklearn.ensemble import RandomForestClassifier
import numpy as np
from ferry.models import ModelStore
store = ModelStore("{url}")
x = np.random.default_rng(0).normal(size=(200, 4))
meta = store.upload("churn", model=RandomForestClassifier(n_estimators=20).fit(x, x[:, 0] > 0))
model_id = meta["model"]["model_id"]
store.create_model_state("production")
store.set_model_state("churn", model_id, "production")
loaded = store.load("churn")
print("uploaded", model_id, "and loaded back a", type(loaded).__name__)
"""

SWEEP = """
import math
import pandas as pd
from ferry import Rubicon
project = Rubicon(root_dir="{root}").get_or_create_project("Churn Sweep")
for i in range(12):
    rate, depth = [0.003, 0.01, 0.03][i % 3], 3 + i % 4
    tags = ["sweep", f"depth:{{depth}}"]
    run = project.log_experiment(f"gbm-{{i:02d}}", model_name="GBM", tags=tags)
    run.log_parameter("learning_rate", rate)
    run.log_parameter("max_depth", depth)
    floor = 0.1 + 0.03 * abs(depth - 4) + 0.2 * abs(math.log10(rate) + 2)
    for step in range(200):
        loss = floor + math.exp(-step * rate * 4) + 0.01 * math.sin(step + i)
        run.log_metric("loss", loss, directionality="loss", step=step)
        run.log_metric("accuracy", 1 - loss / 2, step=step)
    run.log_metric("auc", round(0.95 - floor / 3, 4))
    for name, weight in [("tenure", 0.4), ("monthly_charges", 0.3), ("contract", 0.2)]:
        run.log_feature(name, importance=round(weight * (1 + 0.1 * math.cos(i)), 3))
scores = pd.DataFrame({{"customer": [1, 2, 3], "churn_score": [0.9, 0.2, 0.7]}})
run.log_dataframe(scores, name="scores")
print("logged", len(project.experiments()), "experiments with loss and accuracy series")
"""

OBJECTS = """
import pandas as pd
from ferry.objects import s3store, s3read
s3store(pd.DataFrame({"customer": [1, 2], "churned": [True, False]}), "churn/labels")
s3store({"threshold": 0.42}, "churn/config")
print(s3read("churn/labels"), s3read("churn/config"), sep="\\n")
"""


def python(code: str, env: dict[str, str]) -> None:
    print("$ python <<EOF" + code + "EOF", flush=True)
    if subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode != 0:
        sys.exit("demo: the Python step above failed")


def ferry(
    *args: str,
    env: dict[str, str],
    expect_failure: bool = False,
    cwd: Path | None = None,
    lines: int | None = None,
) -> None:
    """Run ``ferry ARGS`` as typed; ``lines`` shows only the first lines of its output."""
    print(f"$ ferry {shlex.join(args)}", flush=True)
    output = subprocess.PIPE if lines is not None else None
    command = [str(BIN / "ferry"), *args]
    result = subprocess.run(command, env=env, check=False, cwd=cwd, stdout=output, text=True)
    if lines is not None:
        shown = result.stdout.splitlines()
        print("\n".join(shown[:lines]))
        if len(shown) > lines:
            print(f"... ({len(shown) - lines} more lines)")
    if (result.returncode != 0) != expect_failure:
        sys.exit(f"demo: 'ferry {shlex.join(args)}' exited {result.returncode}")
    if expect_failure:
        print(f"(exit code {result.returncode})")


def train_on_ec2(tmp: Path, env: dict[str, str]) -> None:
    """A run on the local EC2 (moto's server; instances are local processes running their
    user data), from provisioning to "0 cost-generating resources left"."""
    step("Train on EC2, then leave nothing behind (local EC2: moto; instances are processes)")
    with LocalEc2Server() as ec2:
        ec2.register_image()
        instances = LocalInstances(LocalLauncher(ec2.url, tmp / "instances")).start()
        try:
            run_env = {**env, **ec2.env(), "XDG_STATE_HOME": str(tmp / "state")}
            project = write_sample_project(tmp / "churn", f"s3://{BUCKET}/churn", epochs=3)
            print(f"Local EC2 on {ec2.url} (pid {ec2.pid}); a git project with train.py and")
            print(f"a [run] table in ferry.toml: {project}")
            ferry("runs", "setup", env=run_env, cwd=project, lines=1)
            ferry("sweep", env=run_env, cwd=project)  # leftovers of dead runs: none yet
            ferry("run", env=run_env, cwd=project)  # ends with the report: 0 left
        finally:
            instances.stop()


def make_workspace(root: Path) -> Path:
    data = root / "data"
    for run in range(3):
        logs = data / "logs" / f"run-{run}"
        logs.mkdir(parents=True)
        for step_no in range(50):
            (logs / f"step-{step_no:03d}.json").write_text(f'{{"loss": {1 / (step_no + 1):.4f}}}')
    (data / "models").mkdir()
    (data / "models" / "model.bin").write_bytes(os.urandom(40 * 1024 * 1024))
    return data


def dashboard_data(env: dict[str, str], state: Path) -> None:
    """Copy the demo's experiments and models to disk (they outlive the local S3 server),
    add a sweep with step series, and check that `ferry ui` serves them, and the run
    (whose ledger is in ``state``) on its Runs page."""
    shutil.rmtree(KEPT, ignore_errors=True)
    ferry("cp", "-r", f"s3://{BUCKET}/rubicon", str(KEPT / "rubicon"), env=env)
    ferry("cp", "-r", f"s3://{BUCKET}/model-store", str(KEPT / "models"), env=env)
    python(SWEEP.format(root=KEPT / "rubicon"), env=env)
    command = ["ui", str(KEPT / "rubicon"), "--models", str(KEPT / "models"), "--no-browser"]
    print(f"$ ferry {shlex.join([*command, '--port', '0'])}   # for a moment", flush=True)
    server = subprocess.Popen(
        [str(BIN / "ferry"), *command, "--port", "0"],
        env={**env, "XDG_STATE_HOME": str(state)},  # the run's ledger, as ferry run left it
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        print(line.strip())
        url = line.split("serving on ", 1)[1].split()[0]
        with urllib.request.urlopen(f"{url}api/projects", timeout=30) as answer:
            for project in json.load(answer)["projects"]:
                print(f"  {project['name']}: {project['experiments']} experiments")
        with urllib.request.urlopen(f"{url}api/runs", timeout=30) as answer:
            for run in json.load(answer)["runs"]:
                cost, left = run["cost"]["text"], run["left_count"]
                print(f"  run {run['run_id']}: {run['state']}, cost {cost}, {left} left")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalS3Server() as server:
        server.create_bucket(BUCKET)
        env = {**os.environ, **server.env()}
        env.pop("FERRY_SSE_C_KEY", None)
        print(f"Local S3 server on {server.url} (pid {server.pid}), bucket s3://{BUCKET}")

        step("Effective settings and where each came from")
        ferry("config", "show", env=env)

        data = make_workspace(Path(tmp))
        step("Push a training workspace: 150 small logs + a 40 MiB model (multipart)")
        ferry("cp", "-r", str(data), f"s3://{BUCKET}/run-1", env=env)
        ferry("ls", "-H", f"s3://{BUCKET}/run-1/", env=env)
        ferry("ls", "-H", "-r", "--summarize", f"s3://{BUCKET}/run-1/models/", env=env)

        step("Pull it back and check every byte")
        restored = Path(tmp) / "restored"
        ferry("cp", "-r", f"s3://{BUCKET}/run-1", str(restored), env=env)
        same = filecmp.dircmp(data / "logs", restored / "logs")
        assert not (same.diff_files or same.left_only or same.right_only)
        assert filecmp.cmp(
            data / "models" / "model.bin", restored / "models" / "model.bin", shallow=False
        )
        print("restored copy is identical")

        step("Encrypt at rest with your own key (SSE-C)")
        key_env = {**env, "FERRY_SSE_C_KEY": base64.b64encode(os.urandom(32)).decode()}
        ferry("cp", str(data / "models" / "model.bin"), f"s3://{BUCKET}/secure/", env=key_env)
        ferry("cp", f"s3://{BUCKET}/secure/model.bin", str(Path(tmp) / "m.bin"), env=key_env)
        print("Without the key, S3 refuses to read it, and ferry says what to do:")
        ferry(
            "cp",
            f"s3://{BUCKET}/secure/model.bin",
            str(Path(tmp) / "x.bin"),
            env=env,
            expect_failure=True,
        )

        step("Track experiments on S3 (rubicon-ml's API and files) and compare them")
        python(TRACKING.format(url=f"s3://{BUCKET}/rubicon"), env=env)
        ferry(
            "experiments",
            "compare",
            f"s3://{BUCKET}/rubicon",
            "Churn Model",
            "--sort",
            "auc",
            env=env,
        )

        step("Sync a training workspace: push from one machine, pull on another")
        for name in ("ec2", "laptop"):
            (Path(tmp) / name).mkdir()
            ferry("init", f"s3://{BUCKET}/team", "--dir", str(Path(tmp) / name), env=env)
        ec2 = Path(tmp) / "ec2"
        for i in range(20):
            (ec2 / "data" / "logs" / f"epoch{i:02d}.json").write_text(f'{{"loss": {1 / (i + 1)}}}')
        (ec2 / "data" / "models" / "model.bin").write_bytes(os.urandom(5 * 1024 * 1024))
        ferry("push", cwd=ec2, env=env)
        ferry("pull", cwd=Path(tmp) / "laptop", env=env)
        ferry("status", cwd=Path(tmp) / "laptop", env=env)

        step("Keep models by domain, version and state")
        python(MODELS.format(url=f"s3://{BUCKET}/model-store"), env=env)
        ferry("models", "ls", f"s3://{BUCKET}/model-store", "churn", env=env)

        step("Pass any Python object through S3 by key")
        python(OBJECTS, env={**env, "FERRY_PATH": f"s3://{BUCKET}/objects"})
        ferry("objects", "ls", "-H", env={**env, "FERRY_PATH": f"s3://{BUCKET}/objects"})

        train_on_ec2(Path(tmp), env)

        step("A dashboard over the experiments and models (ferry ui)")
        dashboard_data(env, Path(tmp) / "state")

        step("Mistakes get one clear line and a distinct exit code")
        ferry("--region", "Frankfurt", "ls", f"s3://{BUCKET}/", env=env, expect_failure=True)
        ferry("ls", f"s3://s3://{BUCKET}/", env=env, expect_failure=True)
        ferry("ls", "s3://no-such-bucket/", env=env, expect_failure=True)

        step("Clean up")
        ferry("rm", "-r", "--quiet", f"s3://{BUCKET}/", env=env)
    print("\nDemo finished; the local S3 server and EC2 are stopped.")
    command = f"{BIN / 'ferry'} ui {KEPT / 'rubicon'} --models {KEPT / 'models'}"
    print(f"\nBrowse the demo's experiments and models (kept in {KEPT}):\n  {command}")


if __name__ == "__main__":
    main()
