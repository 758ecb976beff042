"""Many objects at once: a bounded pool of workers over any store.

S3 answers each small request in milliseconds, so one-by-one transfers spend their time
waiting. These helpers keep ``workers`` requests in flight, carry on past a failure, and
raise one :class:`MultiError` naming every key that failed once the rest are done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

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


class _NotStarted(Exception):
    """A call skipped because the stop event was set before it began."""


def run_collect(
    calls: Mapping[str, Callable[[], T]],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, T], None] | None = None,
    stop: StopSignal | None = None,
) -> tuple[dict[str, T], list[tuple[str, BaseException]]]:
    """Like :func:`run_many`, but return the ferry errors (by name) beside the results.

    Once ``stop`` is set, calls not yet begun are skipped (neither a result nor a failure)
    and calls in flight finish: a stop never leaves half a transfer behind.
    """
    results: dict[str, T] = {}
    failures: list[tuple[str, BaseException]] = []

    def guarded(call: Callable[[], T]) -> T:
        if stop is not None and stop.is_set():
            raise _NotStarted
        return call()

    def settle(name: str, outcome: Callable[[], T]) -> None:
        try:
            results[name] = outcome()
        except _NotStarted:
            return
        except FerryError as exc:
            failures.append((name, exc))
            return
        if on_done is not None:
            on_done(name, results[name])

    if workers <= 1 or len(calls) <= 1:  # nothing to overlap: skip the pool's overhead
        for name, call in calls.items():
            settle(name, partial(guarded, call))
    else:
        # Here, not at the top: a sync with nothing to move never starts a pool, and
        # importing it (with logging) is ~4 ms of every start.
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(guarded, call): name for name, call in calls.items()}
            for future in as_completed(futures):
                settle(futures[future], future.result)
    return results, sorted(failures, key=lambda f: f[0])


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
