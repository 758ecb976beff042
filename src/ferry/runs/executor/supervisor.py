"""``ferry exec``: the supervisor that runs one rank of a run on its instance.

boot -> checkout -> pull -> verify -> setup -> train -> push -> finish, with training as a
child process. Whatever happens to training (success, non-zero exit, ``kill -9``, OOM,
cancel, soft deadline, spot notice), what it produced is pushed, the manifest written and
``final.json`` written last, create-only; the exit status is training's own (see
:mod:`.state` for the rules). The hard deadline is not ours: user data sets it first.

Everything the supervisor touches is passed in (:class:`ExecRequest`); nothing here
prints, exits or reads the environment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.config import Settings
from ferry.errors import AlreadyExistsError, FerryError
from ferry.runs import layout
from ferry.runs.executor.boot import (
    child_env,
    open_run_store,
    read_config,
    run_settings,
    with_secrets,
)
from ferry.runs.executor.bus import Bus
from ferry.runs.executor.checkout import checkout
from ferry.runs.executor.child import Finished, StopRequest, run_command
from ferry.runs.executor.imds import DEFAULT_IMDS_URL, Imds
from ferry.runs.executor.logstream import LogStream
from ferry.runs.executor.probe import SystemProbe
from ferry.runs.executor.ranks import Rank
from ferry.runs.executor.secrets import Secret
from ferry.runs.executor.state import Failure, RunState, Verdict, iso, verdict
from ferry.runs.executor.transfer import (
    Moved,
    manifest_entries,
    store_opener,
    transfer,
    verify,
)
from ferry.runs.executor.watch import Control, MetricsReader, Watcher
from ferry.runs.runconfig import RunConfig

__all__ = ["ExecRequest", "ExecResult", "MetricsFactory", "execute"]

# Builds the reader of the training's latest metrics from its tracking root and settings.
MetricsFactory = Callable[[str, Settings], MetricsReader]
# After the soft deadline and the grace, what the push may still use; user data's hard
# deadline leaves at least five minutes beyond max runtime + grace.
PUSH_ALLOWANCE_S = 180.0


@dataclass(frozen=True)
class ExecRequest:
    """Everything ``ferry exec`` needs, resolved by the command line.

    Args:
        run_url: the run's prefix, ``s3://bucket/<run root>/<run id>/``.
        workdir: where the checkout, the data and the local log go.
        settings: how to reach AWS (endpoints, credentials, retries) on this machine.
        rank: this node's place in the job.
        env: the environment for git, setup and training (the run's variables are added).
        imds_url: an explicit metadata service URL; None asks EC2's own only on spot.
        imds_allowed: False when EC2 metadata is disabled (``AWS_EC2_METADATA_DISABLED``).
        metrics: builds the reader of the training's latest metrics, or None.
        note: told of each step, for the executor's own output.
    """

    run_url: str
    workdir: Path
    settings: Settings
    rank: Rank = field(default_factory=Rank)
    env: Mapping[str, str] = field(default_factory=dict)
    imds_url: str | None = None
    imds_allowed: bool = True
    metrics: MetricsFactory | None = None
    note: Callable[[str], None] = lambda message: None
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class ExecResult:
    """How the run ended, and whether ``final.json`` was written."""

    state: str
    exit_code: int
    message: str
    final_written: bool


def execute(request: ExecRequest) -> ExecResult:
    """Run this rank of the run to its end (see the module docstring).

    Raises:
        FerryError: before anything was written: ``run.json`` unreadable, or the run has
            already finished (its ``final.json`` exists).
    """
    return _Supervisor(request).run()


@dataclass
class _Counts:
    pulled: Moved = field(default_factory=Moved)
    pushed: Moved = field(default_factory=Moved)


class _Supervisor:
    def __init__(self, request: ExecRequest) -> None:
        self.request = request
        self.started = request.clock()
        self.stop = StopRequest(request.clock)
        self.failures: list[Failure] = []
        self.training: Finished | None = None
        self.counts = _Counts()
        self.stream: LogStream | None = None

    # -- boot ---------------------------------------------------------------------------

    def run(self) -> ExecResult:
        request = self.request
        config, bundle = read_config(request.run_url, request.settings, request.rank)
        self.config, self.bundle = config, bundle
        self.state = RunState(config.run_id, request.rank)
        self.state.begin("boot", _now())
        self.settings = run_settings(request.settings, config)
        secrets: dict[str, Secret] = {}
        try:
            self.settings, secrets = with_secrets(self.settings, config)
            store = open_run_store(request.run_url, self.settings)
        except FerryError as exc:  # the bus stays unencrypted: it only says what failed
            self.failures.append(Failure("boot", exc.message, exc.exit_code))
            store = bundle
        self.bus = Bus(store, request.rank, on_error=self._note_local)
        self._start_stream(config)
        rank = request.rank
        self._note(
            f"ferry exec {config.run_id}: rank {rank.rank} of {rank.world_size} ({rank.source})"
        )
        self.bus.status(self.state.status(_now()))
        self.watcher = self._watcher(config).start()
        try:
            self._phases(config, secrets)
        finally:
            result = self._finish()
        return result

    def _start_stream(self, config: RunConfig) -> None:
        rank = self.request.rank.rank
        try:
            first = self.bus.next_log_seq()
        except FerryError as exc:
            self._note_local(f"could not list earlier log chunks: {exc}")
            first = 0
        self.stream = LogStream(
            self.bus.log_chunk,
            self.request.workdir / "logs" / f"rank-{rank}.log",
            flush_s=config.log_flush_s,
            first_seq=first,
            on_error=lambda exc: self._note_local(f"log chunk not sent yet: {exc.problem}"),
        ).start()

    def _watcher(self, config: RunConfig) -> Watcher:
        control = Control(
            stop=self.stop,
            deadline=self.started + config.max_runtime_s,
            grace_s=config.grace_s,
            imds=self._imds(config),
            clock=self.request.clock,
        )
        self.control = control
        self.request.workdir.mkdir(parents=True, exist_ok=True)
        metrics = None
        if self.request.metrics is not None:
            metrics = self.request.metrics(
                self.request.run_url.rstrip("/") + "/" + layout.TRACKING, self.settings
            )
        return Watcher(
            bus=self.bus,
            state=self.state,
            probe=SystemProbe(self.request.workdir),
            metrics=metrics,
            control=control,
            heartbeat_s=config.heartbeat_s,
            note=self._note,
        )

    def _imds(self, config: RunConfig) -> Imds | None:
        if self.request.imds_url:
            return Imds(self.request.imds_url)
        if config.market == "spot" and self.request.imds_allowed:
            return Imds(DEFAULT_IMDS_URL)
        return None

    # -- phases -------------------------------------------------------------------------

    def _phases(self, config: RunConfig, secrets: dict[str, Secret]) -> None:
        root = self.request.workdir / "repo" if config.git else self.request.workdir
        try:
            self.workspace = config.workspace.workspace(root)
        except FerryError as exc:
            self.failures.append(Failure("boot", exc.message, exc.exit_code))
            return
        self._phase("checkout", lambda: self._checkout(config, root, secrets))
        self._phase("pull", lambda: self._pull(config))
        self._phase("verify", lambda: self._verify(config))
        self._phase("setup", lambda: self._setup(config, root))
        self._phase("train", lambda: self._train(config, root))
        if self.training is not None:
            self._phase("push", lambda: self._push(config), always=True)

    def _phase(self, name: str, action: Callable[[], None], *, always: bool = False) -> None:
        """Run a phase, unless an earlier one failed or a stop came (``always`` runs anyway)."""
        if not always and (self.failures or self.stop.is_set()):
            return
        self.state.begin(name, _now())
        self.bus.status(self.state.status(_now()))
        self._note(f"phase {name}")
        try:
            action()
        except FerryError as exc:
            self.failures.append(Failure(name, exc.message, exc.exit_code))
            self._note(f"{name} failed: {exc.message}")
        except Exception as exc:  # unforeseen (a local OSError...): still a failed phase,
            # never a run reported as succeeded because training was not reached
            message = f"{type(exc).__name__}: {exc}"
            self.failures.append(Failure(name, message))
            self._note(f"{name} failed: {message}")
        self.state.end(_now())
        self.bus.status(self.state.status(_now()))

    def _checkout(self, config: RunConfig, root: Path, secrets: dict[str, Secret]) -> None:
        if config.git is None:
            self._note("no git repository in run.json: working in the workdir")
            return
        bundle = self.bundle
        checkout(
            config.git,
            root,
            env=self.request.env,
            token=secrets.get("git-token"),
            deploy_key=secrets.get("deploy-key"),
            override=lambda path: bundle.get(layout.override_key(path)),
            note=self._note,
        )

    def _pull(self, config: RunConfig) -> None:
        moved = transfer(
            self.workspace,
            "pull",
            self.settings,
            config.pull,
            stop=self.stop.event,
            opener=store_opener(self.settings),
        )
        self.counts.pulled = moved
        self._moved("pull", moved, config.pull)

    def _moved(self, phase: str, moved: Moved, names: tuple[str, ...]) -> None:
        """Say what a pull or push moved; record its failure."""
        self._note(
            f"{phase}: {moved.files} files, {moved.bytes} bytes ({', '.join(names) or 'none'})"
        )
        if moved.errors:
            shown = "; ".join(moved.errors[:5]) + (
                f"; and {len(moved.errors) - 5} more" if len(moved.errors) > 5 else ""
            )
            self.failures.append(Failure(phase, f"the {phase} failed: {shown}", moved.exit_code))
            self._note(f"{phase} failed: {shown}")

    def _verify(self, config: RunConfig) -> None:
        checked = verify(
            self.workspace, config.pull, store_opener(self.settings), self.settings.concurrency
        )
        self._note(
            f"verified {checked.files} files, {checked.bytes} bytes"
            + (
                f" ({checked.size_only} by size only: no checksum recorded)"
                if checked.size_only
                else ""
            )
        )
        if checked.problems:
            raise FerryError(
                f"{len(checked.problems)} pulled file(s) do not match the bucket: "
                + "; ".join(checked.problems[:5]),
                "",
            )

    def _setup(self, config: RunConfig, root: Path) -> None:
        for command in config.setup:
            if self.stop.is_set():
                return
            self._note(f"setup: {command}")
            finished = self._command(command, root)
            if finished.exit_code != 0:
                self.failures.append(
                    Failure(
                        "setup", f"{command!r} exited with {finished.exit_code}", finished.exit_code
                    )
                )
                self._note(f"setup command exited with {finished.exit_code}")
                return

    def _train(self, config: RunConfig, root: Path) -> None:
        self._note(f"train: {config.train}")
        self.training = self._command(config.train, root)
        how = f"stopped ({self.training.stopped}); " if self.training.stopped else ""
        self._note(
            f"training ended: {how}exit code {self.training.exit_code} "
            f"after {self.training.seconds:.1f} s"
        )

    def _command(self, command: str, root: Path) -> Finished:
        assert self.stream is not None
        return run_command(
            command, cwd=root, env=self._child_env(), stream=self.stream, stop=self.stop
        )

    def _child_env(self) -> dict[str, str]:
        request = self.request
        return child_env(request.env, self.config, request.rank, request.run_url, self.settings)

    def _push(self, config: RunConfig) -> None:
        if not self.request.rank.leader:
            self._note("not rank 0: models and checkpoints are pushed by rank 0")
            return
        names = _push_order(config.push, interrupted=self.stop.reason == "interrupted")
        stop = threading.Event()
        default = self.started + config.max_runtime_s + config.grace_s + PUSH_ALLOWANCE_S
        timer = threading.Timer(
            max(0.0, self.control.push_deadline(default) - self.request.clock()), stop.set
        )
        timer.daemon = True
        timer.start()
        try:
            moved = transfer(
                self.workspace,
                "push",
                self.settings,
                names,
                stop=stop,
                opener=store_opener(self.settings),
            )
        finally:
            timer.cancel()
        self.counts.pushed = moved
        self._moved("push", moved, names)

    # -- finish -------------------------------------------------------------------------

    def _finish(self) -> ExecResult:
        self.state.begin("finish", _now())
        self.bus.status(self.state.status(_now()))
        if self.request.rank.leader and self.training is not None:
            self._write_manifest()
        self.watcher.close()
        result = verdict(
            stop_reason=self.stop.reason,
            training_code=self.training.exit_code if self.training else None,
            failures=self.failures,
        )
        self._note(
            f"run {result.state}, exit code {result.exit_code}"
            + (f": {result.message}" if result.message else "")
        )
        assert self.stream is not None
        if not self.stream.close():
            self._note_local(f"{self.stream.pending} bytes of log could not be sent")
        self.state.finish(result, _now())
        self.bus.status(self.state.status(_now()))
        written = self._write_final(result) if self.request.rank.leader else True
        return ExecResult(result.state, result.exit_code, result.message, written)

    def _write_manifest(self) -> None:
        try:
            files = manifest_entries(self.workspace, tuple(self.counts.pushed.mappings))
            self.bus.manifest({"run_id": self.config.run_id, "files": files})
        except FerryError as exc:
            self.failures.append(
                Failure("finish", f"manifest.json not written: {exc.message}", exc.exit_code)
            )

    def _write_final(self, result: Verdict) -> bool:
        pulled, pushed = self.counts.pulled, self.counts.pushed
        document: dict[str, Any] = {
            "run_id": self.config.run_id,
            "state": result.state,
            "exit_code": result.exit_code,
            "message": result.message,
            "finished": iso(_now()),
            "pushed_files": pushed.files,
            "pushed_bytes": pushed.bytes,
            "pulled_files": pulled.files,
            "pulled_bytes": pulled.bytes,
            "phases": self.state.status(_now())["phases"],
        }
        for attempt in range(3):
            try:
                self.bus.final(document)
                return True
            except AlreadyExistsError:
                self._note_local("final.json already exists: left as it is")
                return False
            except FerryError as exc:
                self._note_local(f"final.json not written (attempt {attempt + 1}): {exc.problem}")
                time.sleep(1)
        return False

    # -- output -------------------------------------------------------------------------

    def _note(self, message: str) -> None:
        if self.stream is not None:
            self.stream.note(message)
        self.request.note(message)

    def _note_local(self, message: str) -> None:
        """A problem with the bus itself: said locally (the bus may be what is failing)."""
        self.request.note(message)


def _push_order(names: tuple[str, ...], *, interrupted: bool) -> tuple[str, ...]:
    """On a spot notice, checkpoints go first: they are what lets the run resume."""
    if not interrupted:
        return names
    return tuple(sorted(names, key=lambda n: "checkpoint" not in n))


def _now() -> datetime:
    return datetime.now(UTC)
