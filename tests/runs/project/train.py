"""A small real training for the runs tests: scikit-learn on a Parquet dataset.

Reads data/cached_datasets/*.parquet (or makes a seeded synthetic set when there is none),
trains an SGDClassifier one epoch at a time, logs accuracy and loss through ferry's
tracking into the run's prefix ($FERRY_RUN_URL + "tracking"), writes a checkpoint per
epoch, the model at the end, and a log file. Flags make it fail in the ways a real
training does: a non-zero exit, a hang, a kill -9 of itself, ignoring SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

DATA = Path("data")
RANK = int(os.environ.get("FERRY_RUN_RANK", os.environ.get("RANK", "0")))


def load() -> tuple[np.ndarray, np.ndarray]:
    files = sorted((DATA / "cached_datasets").glob("*.parquet"))
    if files:
        frame = pd.concat([pd.read_parquet(f) for f in files])
        return frame.drop(columns="label").to_numpy(), frame["label"].to_numpy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(int)


def tracker() -> object | None:
    """The run's tracking project (rubicon-ml's model: a metric is logged once per
    experiment, so each epoch is an experiment of its own; the newest holds the latest)."""
    url = os.environ.get("FERRY_RUN_URL")
    if not url:
        return None
    from ferry.tracking import Rubicon

    return Rubicon(persistence="filesystem", root_dir=url + "tracking").get_or_create_project(
        "train"
    )


def save(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--hang-at", type=int, default=-1)
    parser.add_argument("--kill-self-at", type=int, default=-1)
    parser.add_argument("--on-term", choices=("checkpoint", "ignore"), default="checkpoint")
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    model = SGDClassifier(loss="log_loss", random_state=RANK)

    def on_term(signum: int, frame: object) -> None:
        if args.on_term == "ignore":
            print("SIGTERM: ignored", flush=True)
            return
        save(DATA / "checkpoints" / "ckpt-last.pkl", model)
        print("SIGTERM: checkpoint saved", flush=True)
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_term)
    x, y = load()
    project = tracker()
    log = DATA / "logs" / f"train-rank{RANK}.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        model.partial_fit(x, y, classes=np.array([0, 1]))
        accuracy = float(model.score(x, y))
        loss = float(log_loss(y, model.predict_proba(x)))
        save(DATA / "checkpoints" / f"ckpt-{epoch:03d}.pkl", model)
        if project is not None:
            experiment = project.log_experiment(f"rank-{RANK}-epoch-{epoch}")  # type: ignore[attr-defined]
            for name, value in (("accuracy", accuracy), ("loss", loss), ("epoch", epoch)):
                experiment.log_metric(name, value)
        line = f"epoch {epoch} accuracy {accuracy:.4f} loss {loss:.4f}"
        print(line, flush=True)
        with log.open("a") as handle:
            handle.write(line + "\n")
        if epoch == args.kill_self_at:
            print("killing myself with SIGKILL", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        if epoch == args.hang_at:
            print("hanging", flush=True)
            while True:
                time.sleep(0.1)
        time.sleep(args.sleep)
    save(DATA / "models" / "model.pkl", model)
    (DATA / "models" / "model.json").write_text(
        json.dumps({"rank": RANK, "epochs": args.epochs, "accuracy": accuracy})
    )
    print(f"done: accuracy {accuracy:.4f}", flush=True)
    return args.exit_code


if __name__ == "__main__":
    sys.exit(main())
