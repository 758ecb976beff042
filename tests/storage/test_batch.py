"""The worker pool every batch of transfers runs on (``ferry.storage.batch.run_collect``)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from ferry.errors import FerryError
from ferry.storage.batch import run_collect


class Calls:
    """Named calls that take ``seconds`` each and count how many began and ended."""

    def __init__(self, count: int, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.began = 0
        self.ended = 0
        self.lock = threading.Lock()
        self.calls: dict[str, Callable[[], int]] = {
            f"k{i:03d}": (lambda i=i: self.one(i)) for i in range(count)
        }

    def one(self, i: int) -> int:
        with self.lock:
            self.began += 1
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
    calls = Calls(200, seconds=0.01)
    threading.Timer(0.1, stop.set).start()
    results, failures = run_collect(calls.calls, 4, stop=stop)
    assert 0 < calls.began < 200
    assert calls.began == calls.ended == len(results) + len(failures)


def test_a_bug_in_one_call_starts_no_more_and_is_raised() -> None:
    calls = Calls(200, seconds=0.01)
    calls.calls["k000"] = lambda: 1 // 0
    with pytest.raises(ZeroDivisionError):
        run_collect(calls.calls, 4)
    assert calls.began < 20  # not the other 199 first
    assert calls.began == calls.ended  # those in flight were let finish


def test_ctrl_c_lets_the_calls_in_flight_finish_and_starts_no_more() -> None:
    """Before, an interrupt waited for every queued call to run (the pool's shutdown)."""
    calls = Calls(200, seconds=0.02)
    main = threading.main_thread().ident
    assert main is not None
    ctrl_c = threading.Timer(0.1, signal.pthread_kill, (main, signal.SIGINT))
    ctrl_c.start()  # Ctrl-C, as the terminal sends it: to the waiting thread
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_collect(calls.calls, 4)
    assert time.monotonic() - started < 0.5  # 200 x 20 ms on 4 workers would be 1 s
    assert 0 < calls.began < 200
    assert calls.began == calls.ended
