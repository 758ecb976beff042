"""The sync state file: columns read in one read, the format before it read once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ferry.sync.plan import Synced
from ferry.sync.state import SyncState

ORIGIN = "/data <-> s3://bucket/data"


def filled(path: Path) -> SyncState:
    state = SyncState(path, origin=ORIGIN, in_progress=True, since=12.5)
    state.synced = {
        "a.txt": Synced("c1", "e1", ""),
        "dir/b.bin": Synced("c2", "e2", "key-id"),
        "only-synced": Synced("c3", "e3", None),
        "odd\tname\nwith ünïcode": Synced("c4", "e4", ""),
    }
    state.hashes = {
        "a.txt": ((5, 1, 2, 3), "c1"),  # the usual case: the digest is the synced checksum
        "dir/b.bin": ((6, 4, 5, 6), "c2-edited"),  # edited since the sync
        "new-here": ((7, 7, 8, 9), "c5"),  # hashed, never synced
        "odd\tname\nwith ünïcode": ((8, 1, 1, 1), "c4"),
    }
    return state


def test_the_state_round_trips(tmp_path: Path) -> None:
    state = filled(tmp_path / "data.json")
    state.save()
    assert not (tmp_path / "data.json").exists()
    loaded = SyncState.load(tmp_path / "data.json", ORIGIN)
    assert loaded.synced == state.synced
    assert loaded.hashes == state.hashes
    assert (loaded.in_progress, loaded.since, loaded.origin) == (True, 12.5, ORIGIN)
    assert loaded.cached_hash("dir/b.bin", (6, 4, 5, 6)) == "c2-edited"
    assert loaded.cached_hash("dir/b.bin", (6, 4, 5, 7)) is None  # another inode


def test_no_object_per_file(tmp_path: Path) -> None:
    filled(tmp_path / "data.json").save()
    document = json.loads((tmp_path / "data.state").read_bytes())
    assert all(not isinstance(v, dict) for v in document.values())
    assert all(
        not isinstance(x, dict | list) for v in document.values() if isinstance(v, list) for x in v
    )


def test_the_format_before_is_read_once_then_replaced(tmp_path: Path) -> None:
    old = tmp_path / "data.json"
    old.write_text(
        json.dumps(
            {
                "synced": {"a.txt": {"checksum": "c1", "etag": "e1", "sse": ""}},
                "hashes": {"a.txt": [[5, 1, 2, 3], "c1"]},
                "in_progress": True,
                "since": 3.0,
                "origin": ORIGIN,
            }
        )
    )
    state = SyncState.load(old, ORIGIN)
    assert state.synced == {"a.txt": Synced("c1", "e1", "")}
    assert state.hashes == {"a.txt": ((5, 1, 2, 3), "c1")}
    assert (state.in_progress, state.since) == (True, 3.0)
    state.save()  # unchanged, but in the format before: written anew
    assert not old.exists() and (tmp_path / "data.state").exists()
    assert SyncState.load(old, ORIGIN).synced == state.synced


def test_another_origin_starts_afresh(tmp_path: Path) -> None:
    filled(tmp_path / "data.json").save()
    fresh = SyncState.load(tmp_path / "data.json", "/elsewhere <-> s3://bucket/data")
    assert (fresh.synced, fresh.hashes, fresh.in_progress) == ({}, {}, False)


def test_a_save_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    filled(tmp_path / "data.json").save()
    file = tmp_path / "data.state"
    os.utime(file, ns=(1, 1))
    loaded = SyncState.load(tmp_path / "data.json", ORIGIN)
    loaded.synced["a.txt"] = Synced("c1", "e1", "")  # the same value again
    loaded.save()
    assert file.stat().st_mtime_ns == 1
    loaded.synced["a.txt"] = Synced("c1", "e1-new", "")
    loaded.save()
    assert file.stat().st_mtime_ns != 1
    assert SyncState.load(tmp_path / "data.json", ORIGIN).synced["a.txt"].etag == "e1-new"
