"""The plan is a pure function of two listings, the last state, the direction and the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ferry.sync.plan import LocalFile, RemoteFile, Synced, plan

OLD = datetime(2026, 1, 1, tzinfo=UTC)
NEW = OLD + timedelta(hours=1)


def here(sha: str, size: int = 3, mtime: datetime = OLD) -> LocalFile:
    return LocalFile(size, mtime, sha)


def there(etag: str, size: int = 3, mtime: datetime = OLD, sha: str | None = None) -> RemoteFile:
    return RemoteFile(size, mtime, etag, sha)


def kinds(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {a.path: a.kind for a in result.actions}


def test_push_mirrors_local_to_remote_with_deletes() -> None:
    result = plan(
        {"new": here("a"), "same": here("b"), "edited": here("c")},
        {"same": there("e1"), "edited": there("e2"), "gone": there("e3")},
        {"same": Synced("b", "e1"), "edited": Synced("old", "e2")},
        direction="push",
    )
    assert kinds(result) == {
        "new": "upload",
        "same": "skip",
        "edited": "upload",
        "gone": "delete-remote",
    }


def test_pull_mirrors_remote_to_local_and_never_sends_local_edits() -> None:
    result = plan(
        {"edited-here": here("x"), "extra": here("y")},
        {"edited-here": there("e1"), "new": there("e2")},
        {"edited-here": Synced("orig", "e1")},
        direction="pull",
    )
    assert kinds(result) == {"edited-here": "download", "extra": "delete-local", "new": "download"}


def test_both_tells_deleted_here_from_new_there() -> None:
    result = plan(
        {},
        {"deleted-here": there("e1"), "new-there": there("e2")},
        {"deleted-here": Synced("s", "e1")},
        direction="both",
    )
    assert kinds(result) == {"deleted-here": "delete-remote", "new-there": "download"}
    result = plan(
        {"deleted-there": here("s"), "new-here": here("n")},
        {},
        {"deleted-there": Synced("s", "e1")},
        direction="both",
    )
    assert kinds(result) == {"deleted-there": "delete-local", "new-here": "upload"}


def test_both_sends_each_sides_changes() -> None:
    state = {"a": Synced("a0", "ea"), "b": Synced("b0", "eb")}
    result = plan(
        {"a": here("a1"), "b": here("b0")},
        {"a": there("ea"), "b": there("eb2")},
        state,
        direction="both",
    )
    assert kinds(result) == {"a": "upload", "b": "download"}


def test_a_same_size_edit_is_seen_by_its_checksum() -> None:
    result = plan(
        {"f": here("edited", size=3)},
        {"f": there("e", size=3)},
        {"f": Synced("original", "e")},
        direction="push",
    )
    assert kinds(result) == {"f": "upload"}


def test_identical_content_without_state_is_recognised_by_ferrys_checksum() -> None:
    result = plan({"f": here("abc")}, {"f": there("e", sha="abc")}, {}, direction="both")
    assert kinds(result) == {"f": "skip"}


@pytest.mark.parametrize(
    ("rule", "local_time", "expected"),
    [
        ("local-wins", OLD, "upload"),
        ("remote-wins", NEW, "download"),
        ("newest-wins", NEW, "upload"),
        ("newest-wins", OLD - timedelta(hours=1), "download"),
        ("manual", NEW, "conflict"),
    ],
)
def test_conflicts_follow_the_rule(rule: str, local_time: datetime, expected: str) -> None:
    result = plan(
        {"ckpt": here("mine", mtime=local_time)},
        {"ckpt": there("e2", mtime=OLD)},
        {"ckpt": Synced("base", "e1")},
        direction="both",
        conflict=rule,
    )
    (action,) = result.actions
    assert action.kind == expected
    assert "changed on both sides" in action.reason


def test_changed_here_but_deleted_there_is_a_conflict() -> None:
    result = plan(
        {"m": here("changed")},
        {},
        {"m": Synced("base", "e")},
        direction="both",
        conflict="local-wins",
    )
    assert kinds(result) == {"m": "upload"}
    result = plan(
        {"m": here("changed")},
        {},
        {"m": Synced("base", "e")},
        direction="both",
        conflict="remote-wins",
    )
    assert kinds(result) == {"m": "delete-local"}
