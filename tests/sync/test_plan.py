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


def test_a_mirror_push_makes_the_bucket_equal_to_the_folder() -> None:
    result = plan(
        {"new": here("a"), "same": here("b"), "edited": here("c")},
        {"same": there("e1"), "edited": there("e2"), "gone": there("e3")},
        {"same": Synced("b", "e1"), "edited": Synced("old", "e2")},
        direction="push",
        mirror=True,
    )
    assert kinds(result) == {
        "new": "upload",
        "same": "skip",
        "edited": "upload",
        "gone": "delete-remote",
    }


def test_a_mirror_pull_replaces_local_edits_and_extras() -> None:
    result = plan(
        {"edited-here": here("x"), "extra": here("y")},
        {"edited-here": there("e1"), "new": there("e2")},
        {"edited-here": Synced("orig", "e1")},
        direction="pull",
        mirror=True,
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
    assert kinds(result) == {"m": "upload"}  # the change survives the delete


@pytest.mark.parametrize("rule", ["local-wins", "remote-wins", "newest-wins"])
@pytest.mark.parametrize("direction", ["both", "push", "pull"])
def test_a_change_is_never_lost_to_a_delete_on_the_other_side(rule: str, direction: str) -> None:
    """Review finding: 'deleted here, changed there' under local-wins deleted the change."""
    changed_there = plan(
        {},
        {"m": there("e2")},
        {"m": Synced("c1", "e1")},
        direction=direction,
        conflict=rule,  # type: ignore[arg-type]
    )
    changed_here = plan(
        {"m": here("c2")},
        {},
        {"m": Synced("c1", "e1")},
        direction=direction,
        conflict=rule,  # type: ignore[arg-type]
    )
    for result in (changed_there, changed_here):
        assert not result.of("delete-local", "delete-remote"), result.actions


def test_two_way_push_deletes_only_what_the_state_proves_was_deleted_here() -> None:
    result = plan(
        {"kept": here("k")},
        {"kept": there("ek"), "synced-then-deleted": there("e1"), "never-seen": there("e2")},
        {"kept": Synced("k", "ek"), "synced-then-deleted": Synced("s", "e1")},
        direction="push",
    )
    assert kinds(result) == {
        "kept": "skip",
        "synced-then-deleted": "delete-remote",
        "never-seen": "pending",  # someone else's new object: never deleted by push
    }


def test_two_way_pull_keeps_a_new_local_file_waiting_to_be_pushed() -> None:
    result = plan(
        {"new-here": here("n"), "synced": here("s")},
        {"new-there": there("e2")},
        {"synced": Synced("s", "e1")},
        direction="pull",
    )
    assert kinds(result) == {
        "new-here": "pending",
        "synced": "delete-local",
        "new-there": "download",
    }
    pending = result.of("pending")[0]
    assert pending.reason == "waiting to be pushed"


@pytest.mark.parametrize("direction", ["push", "pull", "both"])
def test_without_any_state_a_two_way_mapping_deletes_nothing(direction: str) -> None:
    result = plan(
        {"only-here": here("a"), "both": here("b")},
        {"only-there": there("e1"), "both": there("e2", sha="other")},
        {},
        direction=direction,  # type: ignore[arg-type]
    )
    assert not result.of("delete-local", "delete-remote")


def test_two_way_push_leaves_a_change_made_only_there_for_pull() -> None:
    result = plan(
        {"f": here("base")}, {"f": there("e2")}, {"f": Synced("base", "e1")}, direction="push"
    )
    assert kinds(result) == {"f": "pending"}
    assert result.actions[0].reason == "waiting to be pulled"


@pytest.mark.parametrize(
    ("direction", "mirror", "expected"),
    [
        ("push", False, "encrypt"),
        ("both", False, "encrypt"),
        ("push", True, "encrypt"),
        ("pull", False, "pending"),  # the push half rewrites it
        ("pull", True, "skip"),  # pull-only data is never rewritten
    ],
)
def test_an_identical_object_stored_without_the_key_is_rewritten_where_the_plan_may_write(
    direction: str, mirror: bool, expected: str
) -> None:
    plain = RemoteFile(3, OLD, "e", "abc", encrypted=False)
    result = plan({"f": here("abc")}, {"f": plain}, {}, direction=direction, mirror=mirror)  # type: ignore[arg-type]
    (action,) = result.actions
    assert action.kind == expected and "not encrypted" in action.reason
