"""Many objects at once: a bounded pool of workers over any store.

S3 answers each small request in milliseconds, so one-by-one transfers spend their time
waiting. These helpers keep ``workers`` requests in flight, carry on past a failure, and
raise one :class:`MultiError` naming every key that failed once the rest are done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Generic, Protocol, TypeVar

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
    """Threads that take the calls in turn, each settling its own call's outcome (and
    calling ``on_done``) under one lock; the calling thread only waits. No future per
    call and no hand-off of each outcome to the caller's thread, which then competes for
    the GIL with every worker: a pull of 2,000 small files takes 14-19% less CPU than on
    a ``ThreadPoolExecutor`` (10 pairs, twice), and a sync does not import
    ``concurrent.futures`` (~5 ms)."""

    def __init__(
        self,
        calls: Mapping[str, Callable[[], T]],
        on_done: Callable[[str, T], None] | None,
        stop: StopSignal | None,
    ) -> None:
        import threading  # here: importing this module must stay cheap

        self.waiting = iter(list(calls.items()))
        self.on_done = on_done
        self.stop = stop
        self.results: dict[str, T] = {}
        self.failures: list[tuple[str, BaseException]] = []
        self.crashed: list[BaseException] = []  # a bug, or the caller's Ctrl-C
        self.lock = threading.Lock()
        # Waited for with an event, not Thread.join: a join that Ctrl-C interrupts may
        # take its thread for ended while it still runs (CPython 3.11).
        self.finished = threading.Event()
        self.running = 0

    def run(self, workers: int) -> None:
        import threading

        self.running = workers
        for began in range(workers):
            try:
                threading.Thread(target=self._worker, daemon=True).start()
            except BaseException as exc:  # no more threads to be had: raised once done
                with self.lock:
                    self.crashed.append(exc)
                    self._ended(workers - began)
                break
        try:
            self.finished.wait()
        except BaseException as exc:  # Ctrl-C while waiting: let the calls in flight end
            with self.lock:
                self.crashed.insert(0, exc)
            self.finished.wait()

    def work(self) -> None:
        while (item := self._take()) is not None:
            name, call = item
            try:
                result = call()
            except FerryError as exc:
                with self.lock:
                    self.failures.append((name, exc))
                continue
            except BaseException as exc:
                with self.lock:
                    self.crashed.append(exc)
                return
            with self.lock:
                self.results[name] = result
                try:
                    if self.on_done is not None:
                        self.on_done(name, result)
                except BaseException as exc:
                    self.crashed.append(exc)
                    return

    def _take(self) -> tuple[str, Callable[[], T]] | None:
        with self.lock:
            if self.crashed or (self.stop is not None and self.stop.is_set()):
                return None
            return next(self.waiting, None)

    def _worker(self) -> None:
        try:
            self.work()
        finally:
            with self.lock:
                self._ended(1)

    def _ended(self, count: int) -> None:
        self.running -= count
        if not self.running:
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
