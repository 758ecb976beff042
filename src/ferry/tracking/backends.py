"""Where a Rubicon keeps its projects: one store, or several as storage's
:class:`~ferry.storage.composite.CompositeStore` (seed 001: writes go to all, reads come
from the first that answers), and the optional queue of background writes.

``persistence="memory"`` roots live for the whole process and are shared by every client
that names the same root, as in rubicon-ml (whose in-memory filesystem is global).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from ferry.config import Settings, load_settings
from ferry.errors import FerryError, MultiError, RubiconException
from ferry.storage import Store, open_store
from ferry.storage.composite import CompositeStore
from ferry.tracking.options import StorageOptions, storage_options
from ferry.tracking.repository import Repository
from ferry.tracking.writer import DONE, WriteHandle, Writer

__all__ = ["PERSISTENCES", "Backends", "memory_store", "open_root"]

T = TypeVar("T")
PERSISTENCES = ("memory", "filesystem")
MEMORY_ROOT = "/root"  # rubicon-ml's default root in memory

# rubicon-ml's memory persistence is one filesystem per process: the same here.
_memory: dict[str, Store] = {}
_memory_lock = threading.Lock()


def memory_store(root_dir: str | None) -> Store:
    """The process-wide in-memory root named ``root_dir`` (rubicon-ml's default if None)."""
    name = (root_dir or MEMORY_ROOT).rstrip("/") or MEMORY_ROOT
    with _memory_lock:
        if name not in _memory:
            _memory[name] = open_store(f"memory://{name}")
        return _memory[name]


def open_root(config: dict[str, Any], given: dict[str, Any], options: StorageOptions) -> Store:
    """The store of one ``{"persistence": ..., "root_dir": ...}`` backend; other keys of
    ``config`` are storage options for this backend only (over the ``given`` ones, which
    ``options`` sorted)."""
    persistence = config.pop("persistence", "filesystem")
    root_dir = config.pop("root_dir", None)
    if config:
        options = storage_options({**given, **config})
    if persistence not in PERSISTENCES:
        raise RubiconException(
            f"persistence must be one of {list(PERSISTENCES)}, not {persistence!r}.",
            "Use 'filesystem' (a local folder or s3://bucket/prefix) or 'memory'.",
        )
    if persistence == "memory":
        return memory_store(root_dir)
    if not root_dir:
        raise RubiconException(
            "persistence='filesystem' needs a root_dir.",
            "Pass root_dir='./rubicon-root' or 's3://bucket/prefix'.",
        )
    root = str(root_dir)
    settings = load_settings(options.settings)
    if root.startswith("s3://"):
        from ferry.storage.s3 import S3Options

        s3 = replace(S3Options.from_settings(settings), credentials=options.credentials)
        return open_store(root, s3_options=s3)
    return open_store(root, settings=settings)


def uses_sse_c(settings: Settings) -> bool:
    return bool(settings.sse_c_key or settings.sse_c_key_file)


class Backends:
    """The repository a Rubicon reads and writes, and its background writes.

    Args:
        repository: over one store, or over a CompositeStore of several.
        synchronous: False queues writes (see :mod:`ferry.tracking.writer`).
    """

    def __init__(self, repository: Repository, *, synchronous: bool = True) -> None:
        self.repository = repository
        self.synchronous = synchronous
        self._writer: Writer | None = None
        self._writer_lock = threading.Lock()

    @property
    def members(self) -> Sequence[Store]:
        store = self.repository.store
        return store.members if isinstance(store, CompositeStore) else [store]

    def write(
        self,
        call: Callable[[Repository], object],
        *,
        order: str | None = None,
        synchronous: bool | None = None,
    ) -> WriteHandle:
        """Write through ``call`` now, or queue it (``synchronous=False``, or the client's
        default). Writes with the same ``order`` key land in the order they were made."""
        if synchronous is None:
            synchronous = self.synchronous
        if not synchronous:
            return self._queue().submit(lambda: self._write_now(call), order)
        if self._writer is not None:
            self._writer.drain()  # a direct write after queued ones lands after them
        self._write_now(call)
        return DONE

    def _queue(self) -> Writer:
        with self._writer_lock:
            if self._writer is None:
                self._writer = Writer(self.repository.write_workers)
            return self._writer

    def _write_now(self, call: Callable[[Repository], object]) -> None:
        try:
            call(self.repository)
        except MultiError as exc:
            raise self._partial(exc) from exc

    def _partial(self, exc: MultiError) -> RubiconException:
        members = self.members
        urls = {m.url for m in members}
        failed = [(name, error) for name, error in exc.failures if name in urls]
        if not failed:
            return RubiconException(exc.problem, exc.fix)
        return RubiconException(
            "Writing failed on "
            + "; ".join(f"{url}: {error}" for url, error in failed)
            + f" ({len(members) - len(failed)} of {len(members)} backends written).",
            "Fix the backend(s) named above and log the entity again.",
        )

    def read(self, call: Callable[[Repository], T]) -> T:
        """``call``'s answer, after queued writes have landed (reads see this client's
        writes). With several backends, rubicon-ml's words start the error."""
        if self._writer is not None:
            self._writer.drain()
        try:
            return call(self.repository)
        except FerryError as exc:
            members = self.members
            if len(members) < 2:
                raise
            raise RubiconException(
                f"all configured storage backends failed: {exc}",
                "Backends read, in order: " + ", ".join(m.url for m in members) + ".",
            ) from exc

    def flush(self) -> None:
        """Wait for queued writes; raise the ones that failed."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and stop the background writers; write the last chunk of each series."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()  # raises the background writes that failed
        finally:
            self.repository.write_chunks()
