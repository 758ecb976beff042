"""The training's output, streamed to the run's prefix in create-only chunks.

The supervisor, not the training, holds the pipe: bytes read from it go to a local copy
and to a buffer; every ``flush_s`` seconds the buffer becomes the next chunk
``logs/<rank>/<seq:08d>.log``. An OOM kill or ``kill -9`` of the training loses nothing
the training wrote to its pipe, because the reader drains it to EOF and the stream is
flushed once more at the end. A chunk that could not be sent stays in the buffer for the
next try; every chunk is written create-only, so no chunk is ever replaced.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from ferry.errors import AlreadyExistsError, FerryError

__all__ = ["ChunkSink", "LogStream"]

MAX_CHUNK = 8 * 1024 * 1024
_READ = 64 * 1024

# Sends chunk number ``seq``; raises AlreadyExistsError if that number is taken.
ChunkSink = Callable[[int, bytes], None]


class LogStream:
    """One rank's log: a local file and create-only chunks in S3.

    Args:
        sink: writes one chunk (the bus's ``log_chunk``).
        local: the local copy (appended to).
        flush_s: seconds between chunks.
        first_seq: the first chunk number (after any chunks already in S3).
        on_error: told when a chunk could not be sent (it is kept and tried again).
    """

    def __init__(
        self,
        sink: ChunkSink,
        local: Path,
        *,
        flush_s: float,
        first_seq: int = 0,
        on_error: Callable[[FerryError], None] | None = None,
    ) -> None:
        self._sink = sink
        self.flush_s = flush_s
        self.seq = first_seq
        self._on_error = on_error
        self._buffer = bytearray()
        self._lock = threading.Lock()  # guards the buffer and the local file
        self._sending = threading.Lock()  # one flush at a time, chunks in order
        local.parent.mkdir(parents=True, exist_ok=True)
        self._local: BinaryIO = open(local, "ab")  # noqa: SIM115 (closed in close())
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="ferry-log", daemon=True)
        self.sent_bytes = 0

    def start(self) -> LogStream:
        self._flusher.start()
        return self

    def write(self, data: bytes) -> None:
        """Add output (thread-safe)."""
        if not data:
            return
        with self._lock:
            self._buffer += data
            if not self._local.closed:
                self._local.write(data)
                self._local.flush()

    def note(self, text: str) -> None:
        """A line from the executor itself, marked as such."""
        self.write(f"[ferry] {text}\n".encode(errors="replace"))

    def pump(self, pipe: IO[bytes]) -> threading.Thread:
        """Read ``pipe`` to its end on a thread of its own, adding everything read."""

        def drain() -> None:
            fd = pipe.fileno()
            while chunk := os.read(fd, _READ):
                self.write(chunk)

        thread = threading.Thread(target=drain, name="ferry-pipe", daemon=True)
        thread.start()
        return thread

    def flush(self) -> bool:
        """Send what is buffered as the next chunk(s); False if some of it is still here."""
        with self._sending:
            while True:
                with self._lock:
                    data = bytes(self._buffer[:MAX_CHUNK])
                if not data:
                    return True
                if not self._send(data):
                    return False
                with self._lock:
                    del self._buffer[: len(data)]

    def _send(self, data: bytes) -> bool:
        for _ in range(100):  # numbers taken by another writer are skipped
            try:
                self._sink(self.seq, data)
            except AlreadyExistsError:
                self.seq += 1
                continue
            except FerryError as exc:
                if self._on_error is not None:
                    self._on_error(exc)
                return False
            self.seq += 1
            self.sent_bytes += len(data)
            return True
        return False

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.flush_s):
            self.flush()

    def close(self, attempts: int = 3) -> bool:
        """Stop the timer, send the rest (a few tries); True if nothing was left unsent."""
        self._closed.set()
        if self._flusher.is_alive():
            self._flusher.join()
        sent = any(self.flush() for _ in range(attempts))
        with self._lock, contextlib.suppress(OSError):
            self._local.close()
        return sent

    @property
    def pending(self) -> int:
        """Bytes not yet sent."""
        with self._lock:
            return len(self._buffer)
