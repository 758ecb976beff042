"""What a sync will do: a pure function of two listings, the rules and the last state.

For every relative path, ``plan`` compares the local file, the remote object and what the
last sync recorded for that path (the state). The state is what tells "deleted here"
from "new there": a path the state knows but one side lacks was deleted on that side.

- ``both`` brings each side's changes to the other; when both changed a path differently,
  the conflict rule decides: ``local-wins``, ``remote-wins``, ``newest-wins``, or
  ``manual`` (left alone and reported). A delete is sent only where the state proves the
  path was synced and then deleted on one side; with no state, nothing is deleted.
- ``push`` / ``pull`` on a two-way mapping do the half of ``both`` that goes one way: the
  other half is ``pending`` (a new local file on pull is kept, waiting to be pushed; a
  remote object the state has never seen is never deleted by push).
- With an SSE-C key configured, an object stored without it (``encrypted=False``) that is
  otherwise identical is ``encrypt``-ed (rewritten server-side with the key) wherever the
  plan may write the bucket; elsewhere it stays, and is reported as not encrypted.
- With ``mirror=True`` (a one-way mapping, in its own direction: a pull-only dataset)
  ``push`` / ``pull`` make the destination equal to the source, deletes included. Deleting
  a path the state has never seen still needs the user's confirmation (see ``sync.run``).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from datetime import datetime
from typing import Literal, NamedTuple

__all__ = ["Action", "LocalFile", "Plan", "RemoteFile", "Synced", "plan"]

Kind = Literal[
    "upload",
    "download",
    "delete-remote",
    "delete-local",
    "encrypt",
    "conflict",
    "skip",
    "pending",
]
# The kinds each one-way half of a two-way sync may carry out.
_HALF: dict[str, frozenset[str]] = {
    "push": frozenset({"upload", "delete-remote", "encrypt", "skip", "conflict"}),
    "pull": frozenset({"download", "delete-local", "skip", "conflict"}),
}
NOT_ENCRYPTED = "not encrypted with your SSE-C key"
_WAITING = {
    "encrypt": f"{NOT_ENCRYPTED}, waiting to be pushed",
    "upload": "waiting to be pushed",
    "delete-remote": "deleted here, waiting to be pushed",
    "download": "waiting to be pulled",
    "delete-local": "deleted there, waiting to be pulled",
}


# The per-file records are named tuples, not dataclasses: a sync of many files makes
# several of them per file, and a tuple is built in a fraction of a frozen dataclass's time.
class LocalFile(NamedTuple):
    size: int
    mtime: datetime
    checksum: str


class RemoteFile(NamedTuple):
    size: int
    mtime: datetime
    etag: str
    checksum: str | None = None  # ferry's recorded checksum, when known (HEAD on first contact)
    encrypted: bool | None = None  # with the configured SSE-C key; None: no key, or unknown


class Synced(NamedTuple):
    """What both sides held after the last sync of a path."""

    checksum: str
    etag: str
    sse: str | None = None  # fingerprint of the SSE-C key it was written with; "" for none


class Action(NamedTuple):
    path: str
    kind: Kind
    reason: str
    size: int = 0


class Plan:
    """The actions of one mapping, one per path, in path order."""

    def __init__(self, actions: list[Action] | None = None) -> None:
        self.actions = actions if actions is not None else []

    def of(self, *kinds: Kind) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    @property
    def transfers(self) -> list[Action]:
        return self.of("upload", "download", "encrypt")

    @property
    def conflicts(self) -> list[Action]:
        return self.of("conflict")


def plan(
    local: MappingType[str, LocalFile],
    remote: MappingType[str, RemoteFile],
    state: MappingType[str, Synced],
    *,
    direction: Literal["push", "pull", "both"],
    conflict: str = "local-wins",
    mirror: bool = False,
    size_only: bool = False,
) -> Plan:
    """The actions that make the two sides agree (see the module docstring)."""
    if mirror and direction == "both":
        raise ValueError("mirror applies to push or pull only")
    result = Plan()
    for path in sorted(set(local) | set(remote)):
        here, there, last = local.get(path), remote.get(path), state.get(path)
        if size_only and here is not None and there is not None and here.size == there.size:
            there = there._replace(checksum=here.checksum)  # the same size is taken as same
        if mirror:
            action = _mirror(path, here, there, last, direction)
        else:
            action = _half(_both(path, here, there, last, conflict), direction)
        result.actions.append(action)
    return result


def _identical(path: str, there: RemoteFile, may_write: bool) -> Action:
    """Same content on both sides; one stored without the configured key is rewritten
    with it where the plan may write the bucket."""
    if there.encrypted is False:
        if may_write:
            return Action(path, "encrypt", NOT_ENCRYPTED, there.size)
        return Action(path, "skip", f"identical; {NOT_ENCRYPTED}")
    return Action(path, "skip", "identical")


def _same(here: LocalFile, there: RemoteFile, last: Synced | None) -> bool:
    """Whether the two hold the same content, as far as can be known without reading."""
    if here.size != there.size:
        return False
    if there.checksum is not None:
        return here.checksum == there.checksum
    return last is not None and last.checksum == here.checksum and last.etag == there.etag


def _mirror(
    path: str, here: LocalFile | None, there: RemoteFile | None, last: Synced | None, direction: str
) -> Action:
    if here is not None and there is not None and _same(here, there, last):
        return _identical(path, there, direction == "push")
    if direction == "push":
        if here is None:
            return Action(path, "delete-remote", "not in the local folder")
        return Action(path, "upload", "new" if there is None else "changed", here.size)
    if there is None:
        return Action(path, "delete-local", "not in the bucket")
    return Action(path, "download", "new" if here is None else "changed", there.size)


def _half(action: Action, direction: str) -> Action:
    """``action`` if it goes ``direction``'s way (or ``both``), else the same as pending."""
    if direction == "both" or action.kind in _HALF[direction]:
        return action
    return Action(action.path, "pending", _WAITING[action.kind], action.size)


def _both(
    path: str, here: LocalFile | None, there: RemoteFile | None, last: Synced | None, rule: str
) -> Action:
    if here is not None and there is not None and _same(here, there, last):
        return _identical(path, there, True)
    local_changed = here is not None and (last is None or here.checksum != last.checksum)
    remote_changed = there is not None and (last is None or there.etag != last.etag)
    if there is None:
        assert here is not None
        if last is None:
            return Action(path, "upload", "new here", here.size)
        if local_changed:
            return _conflict(path, here, there, rule, "changed here, deleted there")
        return Action(path, "delete-local", "deleted there")
    if here is None:
        if last is None:
            return Action(path, "download", "new there", there.size)
        if remote_changed:
            return _conflict(path, here, there, rule, "deleted here, changed there")
        return Action(path, "delete-remote", "deleted here")
    if local_changed and not remote_changed:
        return Action(path, "upload", "changed here", here.size)
    if remote_changed and not local_changed:
        return Action(path, "download", "changed there", there.size)
    return _conflict(path, here, there, rule, "changed on both sides")


def _conflict(
    path: str, here: LocalFile | None, there: RemoteFile | None, rule: str, why: str
) -> Action:
    """Resolve by the rule: the winner's version goes to the other side. A change against
    a deletion is never settled by deleting the change: the changed version is kept (as
    rclone bisync and Unison do), whatever the rule, unless the rule is ``manual``."""
    if rule != "manual" and (here is None or there is None):
        reason = f"{why}; the changed version is kept (a change is never lost to a delete)"
        if here is None:
            assert there is not None
            return Action(path, "download", reason, there.size)
        return Action(path, "upload", reason, here.size)
    winner = {"local-wins": "local", "remote-wins": "remote"}.get(rule)
    if rule == "newest-wins":
        local_time = here.mtime if here else None
        remote_time = there.mtime if there else None
        if local_time and remote_time and local_time != remote_time:
            winner = "local" if local_time > remote_time else "remote"
        elif local_time and not remote_time:
            winner = "local"
        elif remote_time and not local_time:
            winner = "remote"
    if winner is None:
        return Action(path, "conflict", f"{why}; left for you to resolve ({rule})")
    reason = f"{why}; {winner} wins ({rule})"
    if winner == "local":
        return (
            Action(path, "upload", reason, here.size)
            if here is not None
            else Action(path, "delete-remote", reason)
        )
    return (
        Action(path, "download", reason, there.size)
        if there is not None
        else Action(path, "delete-local", reason)
    )
