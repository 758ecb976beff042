"""Many objects at once: a bounded pool of workers over any store.

S3 answers each small request in milliseconds, so one-by-one transfers spend their time
waiting. These helpers keep ``workers`` requests in flight, carry on past a failure, and
raise one :class:`MultiError` naming every key that failed once the rest are done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Generic, Protocol, TypeVar, cast

from ferry.errors import FerryError, MultiError
from ferry.storage.base import ObjectInfo, PutMode, Store, join_key

__all__ = [
    "StopSignal",
    "download_tree",
    "get_many",
    "put_many",
    "run_collect",
    "run_many",
    "upload_tree",
]

T = TypeVar("T")
DEFAULT_WORKERS = 32


def run_many(
    action: str,
    calls: Mapping[str, Callable[[], T]],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, T], None] | None = None,
) -> dict[str, T]:
    """Run each named call on a pool of ``workers``; results by name.

    ``on_done(name, result)`` is called as each call succeeds (for progress display).

    Raises:
        MultiError: naming each call that raised a ferry error (the others still ran).
    """
    results, failures = run_collect(calls, workers, on_done)
    if failures:
        raise MultiError(action, failures)
    return results


class StopSignal(Protocol):
    """Anything that says whether to stop (a ``threading.Event``, for one)."""

    def is_set(self) -> bool: ...


def run_collect(
    calls: Mapping[str, Callable[[], T]],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, T], None] | None = None,
    stop: StopSignal | None = None,
) -> tuple[dict[str, T], list[tuple[str, BaseException]]]:
    """Like :func:`run_many`, but return the ferry errors (by name) beside the results.

    Once ``stop`` is set, calls not yet begun are skipped (neither a result nor a failure)
    and calls in flight finish: a stop never leaves half a transfer behind. The same holds
    when the caller is interrupted (Ctrl-C) and when a call raises something other than a
    ferry error (a bug): no new call begins, and that exception is raised here once the
    calls in flight are done. ``on_done`` is never called twice at once.
    """
    pool = _Pool(calls, on_done, stop)
    if workers <= 1 or len(calls) <= 1:  # nothing to overlap: no threads
        pool.work()
    else:
        pool.run(min(workers, len(calls)))
    if pool.crashed:
        raise pool.crashed[0]
    return pool.results, sorted(pool.failures, key=lambda f: f[0])


class _Pool(Generic[T]):
    """Threads that take the calls in turn and each settle their own call's outcome
    (results, failures, ``on_done``) one at a time; the calling thread only waits. No
    future per call, and no hand-off of each outcome to the caller's thread, which would
    then compete for the GIL with every worker.

    The pool is done once it is closed (nothing left to take, a stop, a bug, Ctrl-C) and
    no call is in flight: calls are counted, not threads, so a thread whose start was
    interrupted, or that never started, cannot make it end early or never."""

    def __init__(
        self,
        calls: Mapping[str, Callable[[], T]],
        on_done: Callable[[str, T], None] | None,
        stop: StopSignal | None,
    ) -> None:
        self.waiting = iter(list(calls.items()))
        self.on_done = on_done
        self.stop = stop
        self.results: dict[str, T] = {}
        self.failures: list[tuple[str, BaseException]] = []
        self.crashed: list[BaseException] = []  # a bug, or the caller's Ctrl-C
        self.closed = False
        self.abandoned = False  # the caller left (a second Ctrl-C): outcomes go unrecorded
        self.in_flight = 0
        self.taking = threading.Lock()  # the queue and the count of calls in flight
        self.settling = threading.Lock()  # the outcomes and on_done: one at a time
        self.finished = threading.Event()

    def run(self, workers: int) -> None:
        """Run the calls on up to ``workers`` threads (those it could start); on Ctrl-C
        no call begins, and those in flight finish. The threads are not daemons: after a
        second Ctrl-C the calls in flight still end before the process does, but their
        outcomes are no longer recorded (the caller has given up on them)."""
        try:
            started = self._start(workers)
            if started:
                self.finished.wait()
        except BaseException as exc:  # Ctrl-C
            self.closed = True  # first thing: nothing may begin from here on
            self._interrupted(exc)
            return
        if not started:
            self.work()  # not one thread to be had: the calls run here

    def work(self) -> None:
        """Take and run calls until there are none left to take."""
        while (item := self._take()) is not None:
            name, call = item
            try:
                result = call()
            except BaseException as exc:
                self._settle(name, None, exc)
            else:
                self._settle(name, result, None)

    def _start(self, workers: int) -> int:
        """Start up to ``workers`` threads; how many started."""
        for number in range(workers):
            try:
                threading.Thread(target=self._worker, name=f"ferry-batch-{number}").start()
            except RuntimeError:  # "can't start new thread": those started do the work
                return number
        return workers

    def _interrupted(self, reason: BaseException) -> None:
        try:
            self._close(reason)
            self.finished.wait()
        except BaseException:  # a second Ctrl-C: the caller goes; record nothing more
            self.abandoned = True
            raise

    def _worker(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # a bug outside any call: said, not lost
            self._close(exc)

    def _take(self) -> tuple[str, Callable[[], T]] | None:
        with self.taking:
            if not self.closed and not (self.stop is not None and self.stop.is_set()):
                item = next(self.waiting, None)
                if item is not None:
                    self.in_flight += 1
                    return item
            self.closed = True
            if not self.in_flight:
                self.finished.set()
            return None

    def _settle(self, name: str, result: T | None, error: BaseException | None) -> None:
        try:
            with self.settling:
                if not self.abandoned:
                    self._record(name, result, error)
        except BaseException as exc:  # on_done failed
            self.crashed.append(exc)
            self.closed = True
        finally:
            with self.taking:
                self.in_flight -= 1
                if self.closed and not self.in_flight:
                    self.finished.set()

    def _record(self, name: str, result: T | None, error: BaseException | None) -> None:
        if isinstance(error, FerryError):
            self.failures.append((name, error))
        elif error is not None:
            self.crashed.append(error)
            self.closed = True
        else:
            self.results[name] = cast(T, result)
            if self.on_done is not None:
                self.on_done(name, cast(T, result))

    def _close(self, reason: BaseException) -> None:
        """No call begins from now on; ``reason`` is raised once those in flight end."""
        self.closed = True  # first, and without a lock: a second Ctrl-C cannot undo it
        self.crashed.insert(0, reason)
        with self.taking:
            if not self.in_flight:
                self.finished.set()


def put_many(
    store: Store,
    items: Mapping[str, bytes],
    *,
    mode: PutMode = "overwrite",
    workers: int = DEFAULT_WORKERS,
) -> dict[str, ObjectInfo]:
    """Write every ``key -> bytes`` item concurrently."""
    calls = {k: partial(store.put, k, v, mode=mode) for k, v in items.items()}
    return run_many(f"Writing to {store.url}", calls, workers)


def get_many(
    store: Store, keys: Iterable[str], *, workers: int = DEFAULT_WORKERS
) -> dict[str, bytes]:
    """Read every key concurrently."""
    calls = {k: partial(store.get, k) for k in keys}
    return run_many(f"Reading from {store.url}", calls, workers)


def upload_tree(
    store: Store,
    folder: Path,
    prefix: str = "",
    *,
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, ObjectInfo], None] | None = None,
) -> dict[str, ObjectInfo]:
    """Upload every file below ``folder`` to ``prefix``, concurrently."""
    from ferry.storage.local import LocalStore

    source = LocalStore(folder)
    calls = {
        join_key(prefix, info.key): partial(
            store.put_file, join_key(prefix, info.key), source.root / info.key
        )
        for info in source.list()
    }
    return run_many(f"Uploading {folder} to {store.url}", calls, workers, on_done)


def download_tree(
    store: Store,
    prefix: str,
    folder: Path,
    *,
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, ObjectInfo], None] | None = None,
) -> dict[str, ObjectInfo]:
    """Download every object under ``prefix`` into ``folder``, concurrently.

    Keys are already checked to be safe relative paths by the store, so none lands
    outside ``folder``.
    """
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    calls: dict[str, Callable[[], ObjectInfo]] = {}
    for info in store.list(base):
        target = Path(folder).joinpath(*info.key[len(base) :].split("/"))
        calls[info.key] = partial(store.get_file, info.key, target, size=info.size)
    return run_many(f"Downloading {store.url}/{prefix}", calls, workers, on_done)
