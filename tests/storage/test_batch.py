"""The worker pool every batch of transfers runs on (``ferry.storage.batch.run_collect``)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from ferry.errors import FerryError
from ferry.storage.batch import run_collect


class Calls:
    """Named calls that take ``seconds`` each and count how many began and ended; the
    ``at``-th call to begin runs ``then`` (a stop, a Ctrl-C) first."""

    def __init__(
        self, count: int, seconds: float = 0.0, at: int = 0, then: Callable[[], None] = print
    ) -> None:
        self.seconds, self.at, self.then = seconds, at, then
        self.began = 0
        self.ended = 0
        self.lock = threading.Lock()
        self.calls: dict[str, Callable[[], int]] = {
            f"k{i:03d}": partial(self.one, i) for i in range(count)
        }

    def one(self, i: int) -> int:
        with self.lock:
            self.began += 1
            now = self.began
        if now == self.at:
            self.then()
        time.sleep(self.seconds)
        with self.lock:
            self.ended += 1
        if i % 10 == 3:
            raise FerryError(f"call {i} failed", "retry it")
        return i


@pytest.mark.parametrize("workers", [1, 8])
def test_every_call_runs_and_each_failure_is_named(workers: int) -> None:
    calls = Calls(40)
    done: list[str] = []
    results, failures = run_collect(calls.calls, workers, on_done=lambda n, _: done.append(n))
    assert results == {f"k{i:03d}": i for i in range(40) if i % 10 != 3}
    assert [name for name, _ in failures] == ["k003", "k013", "k023", "k033"]
    assert sorted(done) == sorted(results)  # told of each success, of no failure


def test_on_done_is_never_called_twice_at_once() -> None:
    inside, most = 0, 0

    def on_done(_name: str, _result: int) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        time.sleep(0.002)  # long enough for a second worker to arrive meanwhile
        inside -= 1

    run_collect(Calls(60).calls, 16, on_done=on_done)
    assert most == 1


def test_a_stop_skips_the_calls_not_begun() -> None:
    stop = threading.Event()
    calls = Calls(200, seconds=0.005, at=10, then=stop.set)
    results, failures = run_collect(calls.calls, 4, stop=stop)
    assert 10 <= calls.began < 20  # the 10th, and those already begun: 13 at most
    assert calls.began == calls.ended == len(results) + len(failures)


@pytest.mark.parametrize("workers", [1, 4])
def test_a_bug_in_one_call_starts_no_more_and_is_raised(workers: int) -> None:
    calls = Calls(200, seconds=0.005)
    calls.calls["k000"] = lambda: 1 // 0
    with pytest.raises(ZeroDivisionError):
        run_collect(calls.calls, workers)
    assert calls.began < 20  # not the other 199 first
    assert calls.began == calls.ended  # those in flight were let finish


def test_a_failing_on_done_starts_no_more_and_is_raised() -> None:
    calls = Calls(200, seconds=0.005)

    def on_done(name: str, _result: int) -> None:
        raise RuntimeError(f"display broke on {name}")

    with pytest.raises(RuntimeError, match="display broke"):
        run_collect(calls.calls, 4, on_done=on_done)
    assert calls.began < 20
    assert calls.began == calls.ended


def test_ctrl_c_lets_the_calls_in_flight_finish_and_starts_no_more() -> None:
    """Before, an interrupt waited for every queued call to run (the pool's shutdown)."""
    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c() -> None:  # as the terminal sends it: to the waiting thread
        signal.pthread_kill(main, signal.SIGINT)

    # Python's own Ctrl-C handler, whatever this process inherited (a shell running it in
    # the background leaves SIGINT ignored, and the signal would do nothing).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        calls = Calls(200, seconds=0.02, at=10, then=ctrl_c)  # 1 s of calls on 4 workers
        with pytest.raises(KeyboardInterrupt):
            run_collect(calls.calls, 4)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert 10 <= calls.began < 100  # not all of them, even on a slow machine
    assert calls.began == calls.ended
