"""Reading a run from its S3 prefix: the heartbeat history (written by the executor's bus,
read by the dev machine's cursor), the log tail, the phase timeline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from tests.support.recording import RecordingStore

from ferry.errors import EndpointError
from ferry.runs.executor.bus import Bus
from ferry.runs.executor.ranks import Rank
from ferry.runs.layout import HEARTBEATS, log_key
from ferry.runs.monitor import HeartbeatCursor, LogTail
from ferry.runs.report import phase_spans
from ferry.storage.base import ObjectInfo, PutMode, StoredObject
from ferry.storage.memory import MemoryStore


class Keys(RecordingStore):
    """Records the key of every object read; refuses writes while ``down``."""

    def __init__(self, name: str) -> None:
        super().__init__(MemoryStore(name))
        self.read: list[str] = []
        self.down = False

    def get_object(self, key: str) -> StoredObject:
        self.read.append(key)
        return super().get_object(key)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        if self.down:
            raise EndpointError("S3 is unreachable.", "Try again.")
        return super().put(key, data, mode=mode, metadata=metadata)


def beats(bus: Bus, numbers: range) -> None:
    for n in numbers:
        bus.heartbeat({"time": f"2026-01-01T00:00:{n:02d}.000Z", "n": n, "metrics": {}})


def chunks(store: Keys) -> list[str]:
    return [info.key for info in store.list(HEARTBEATS)]


def test_the_history_fills_chunks_and_each_full_one_is_read_once() -> None:
    store = Keys("history")
    bus, cursor = Bus(store, Rank(), history_lines=3), HeartbeatCursor(store)
    assert cursor.samples() == []  # no chunk yet (or a run from before the history)
    beats(bus, range(7))
    assert chunks(store) == [f"{HEARTBEATS}{n:08d}.jsonl" for n in range(3)]
    assert [s["n"] for s in cursor.samples()] == list(range(7))
    store.read.clear()
    beats(bus, range(7, 10))  # the newest chunk is rewritten, then a new one begins
    assert [s["n"] for s in cursor.samples()] == list(range(10))
    assert store.read == [f"{HEARTBEATS}00000002.jsonl", f"{HEARTBEATS}00000003.jsonl"]
    assert store.get(HEARTBEATS + "00000000.jsonl").count(b"\n") == 3


def test_a_new_executor_continues_the_history_it_finds() -> None:
    store = Keys("restarted")
    beats(Bus(store, Rank(), history_lines=3), range(4))
    beats(Bus(store, Rank(), history_lines=3), range(4, 6))
    assert [s["n"] for s in HeartbeatCursor(store).samples()] == list(range(6))


def test_while_s3_fails_the_history_loses_lines_not_memory() -> None:
    store = Keys("flaky")
    errors: list[str] = []
    bus = Bus(store, Rank(), on_error=errors.append, history_lines=3)
    beats(bus, range(2))
    store.down = True
    beats(bus, range(2, 10))
    assert errors and all("could not write" in e for e in errors)
    store.down = False
    beats(bus, range(10, 12))
    kept = [s["n"] for s in HeartbeatCursor(store).samples()]
    assert kept[:2] == [0, 1] and kept[-2:] == [10, 11] and len(kept) < 12


def test_the_log_tail_starts_at_a_line_and_reads_each_chunk_once_newest_first() -> None:
    store = Keys("logs")
    for seq in range(50):
        store.put(log_key(0, seq), f"line {seq}\n".encode())
    everything = "".join(f"line {n}\n" for n in range(50))
    assert LogTail(store, 0).text() == everything
    tail = LogTail(store, 0, keep_chars=20)
    assert tail.text() == "line 48\nline 49\n"
    assert store.read[-3:] == [log_key(0, 49), log_key(0, 48), log_key(0, 47)]
    store.read.clear()
    store.put(log_key(0, 50), b"line 50\n")
    assert tail.text() == "line 49\nline 50\n" and store.read == [log_key(0, 50)]
    assert tail.text(8) == "line 50\n" and store.read == [log_key(0, 50)]
    assert LogTail(store, 1).text() == ""


def test_a_log_of_many_small_chunks_reads_only_the_newest_few() -> None:
    store = Keys("chatty")
    for seq in range(100):
        store.put(log_key(0, seq), f"{seq}\n".encode())
    tail = LogTail(store, 0, max_chunks=10)
    assert tail.text() == "".join(f"{n}\n" for n in range(90, 100)) and len(store.read) == 10
    for seq in range(100, 130):  # more new chunks than one call reads: a fresh end
        store.put(log_key(0, seq), f"{seq}\n".encode())
    assert tail.text() == "".join(f"{n}\n" for n in range(120, 130))


def test_phase_spans_in_run_order_an_open_one_lasting_until_now() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    at = lambda s: (start + timedelta(seconds=s)).isoformat()  # noqa: E731
    status = {
        "phases": {
            "train": {"start": at(3), "end": None},
            "boot": {"start": at(0), "end": at(1.5)},
            "checkout": {"start": at(1.5), "end": at(3)},
        }
    }
    spans = phase_spans(status, now=start + timedelta(seconds=10))
    assert list(spans) == ["boot", "checkout", "train"]
    assert [s["seconds"] for s in spans.values()] == [1.5, 1.5, 7.0]
    assert spans["train"]["end"] is None
    assert phase_spans(status)["train"]["seconds"] is None  # over: no "now" to measure to
