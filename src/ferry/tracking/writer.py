"""Background writes: the opt-in asynchronous logging mode (``Rubicon(synchronous=False)``
or ``log_metric(..., synchronous=False)``).

A logging call queues its write and returns at once; a pool of threads sends the writes
concurrently. Writes given the same ordering key (one metric's steps, say) are sent one
after the other, in the order they were queued, so the latest step is the one that lands
last. A failed write is kept: it is raised by the entity's ``wait()``, by ``flush()`` or
``close()``, whichever comes first, and is never raised twice. At interpreter exit the
queue is flushed; a failure then is logged (there is no caller left to raise to).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from collections.abc import Callable

from ferry.errors import RubiconException

__all__ = ["WriteHandle", "Writer"]

_log = logging.getLogger("ferry.tracking")


class WriteHandle:
    """One queued write: wait for it, or ask whether it is done."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._error: Exception | None = None
        self.reported = False

    def _finish(self, error: Exception | None) -> None:
        self._error = error
        self._done.set()

    def done(self) -> bool:
        """Whether the write has landed or failed."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the write is done; raise its error if it failed.

        Raises:
            TimeoutError: the write did not finish within ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"The write did not finish within {timeout} s.")
        if self._error is not None:
            self.reported = True
            raise self._error


DONE = WriteHandle()
DONE._finish(None)

_Task = tuple[str | None, Callable[[], object], WriteHandle]


class Writer:
    """A queue of writes sent by up to ``workers`` threads.

    Args:
        workers: how many writes may be in flight at once.
    """

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)
        self._ready: deque[_Task] = deque()
        self._queued: dict[str, deque[_Task]] = {}  # waiting behind a busy ordering key
        self._busy: set[str] = set()
        self._outstanding = self._threads = self._idle = 0
        self._failed: list[WriteHandle] = []
        self._closed = False
        atexit.register(self._at_exit)

    def submit(self, call: Callable[[], object], order: str | None = None) -> WriteHandle:
        """Queue ``call``; writes with the same ``order`` key run one at a time, in order."""
        task: _Task = (order, call, WriteHandle())
        with self._lock:
            if self._closed:
                raise RubiconException("This client is closed.", "Create a new Rubicon.")
            self._outstanding += 1
            if order is not None and order in self._busy:
                self._queued.setdefault(order, deque()).append(task)
            else:
                if order is not None:
                    self._busy.add(order)
                self._make_ready(task)
        return task[2]

    def _make_ready(self, task: _Task) -> None:
        self._ready.append(task)
        if self._idle:
            self._work.notify()
        elif self._threads < self._workers:
            self._threads += 1
            threading.Thread(target=self._serve, name="ferry-writer", daemon=True).start()

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._ready and not self._closed:
                    self._idle += 1
                    self._work.wait()
                    self._idle -= 1
                if not self._ready:
                    self._threads -= 1
                    return
                order, call, handle = self._ready.popleft()
            error: Exception | None = None
            try:
                call()
            except Exception as exc:  # kept for wait()/flush(), raised there
                error = exc
            self._settle(order, handle, error)

    def _settle(self, order: str | None, handle: WriteHandle, error: Exception | None) -> None:
        with self._lock:
            handle._finish(error)
            if error is not None:
                self._failed.append(handle)
            if order is not None:
                waiting = self._queued.get(order)
                if waiting:
                    self._make_ready(waiting.popleft())
                    if not waiting:
                        del self._queued[order]
                else:
                    self._busy.discard(order)
            self._outstanding -= 1
            if not self._outstanding:
                self._settled.notify_all()

    def drain(self) -> None:
        """Wait until every queued write has landed or failed (failures are kept)."""
        with self._lock:
            while self._outstanding:
                self._settled.wait()

    def flush(self) -> None:
        """Wait for every queued write, then raise the failures not raised yet.

        Raises:
            RubiconException: one failure as it was raised, or several in one message.
        """
        self.drain()
        with self._lock:
            failed = [h for h in self._failed if not h.reported]
            self._failed.clear()
        for handle in failed:
            handle.reported = True
        errors = [h._error for h in failed if h._error is not None]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            shown = "; ".join(str(e) for e in errors[:5])
            more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
            raise RubiconException(
                f"{len(errors)} background writes failed: {shown}{more}.",
                "Fix what is named above and log those entities again; the others landed.",
            )

    def close(self) -> None:
        """Flush, then stop the threads."""
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True
                self._work.notify_all()
            atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        try:
            self.close()
        except Exception as exc:
            _log.error("ferry: background tracking writes failed at exit: %s", exc)
