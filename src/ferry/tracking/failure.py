"""rubicon-ml's failure modes: ``set_failure_mode("raise" | "warn" | "log")``.

The mode is global to the process, as in rubicon-ml, because notebooks switch it once for
every client at the top of a session. In ``"raise"`` (the default) a failing call raises;
in ``"warn"`` it emits a warning holding the traceback and returns ``None``; in ``"log"``
it logs the traceback with ``logging.error`` and returns ``None``. Every public method of
the tracking client that rubicon-ml guards is guarded here (:func:`failsafe`).
"""

from __future__ import annotations

import functools
import logging
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

__all__ = ["FAILURE_MODES", "failsafe", "set_failure_mode"]

FAILURE_MODES = ("log", "raise", "warn")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class _Mode:
    name: str = "raise"
    chain: bool = False
    limit: int | None = None


# One value for the whole process (rubicon-ml's contract); replaced whole, never mutated.
_current = [_Mode()]


def set_failure_mode(
    failure_mode: str, traceback_chain: bool = False, traceback_limit: int | None = None
) -> None:
    """Choose what a failing tracking call does.

    Args:
        failure_mode: "raise" to raise, "warn" to turn the error into a warning and
            return None, "log" to log it with ``logging.error`` and return None.
        traceback_chain: show every error of the chain in the warning or log line.
        traceback_limit: how many traceback entries to show (0: the error's text only).
    """
    if failure_mode not in FAILURE_MODES:
        raise ValueError(f"`failure_mode` must be one of {list(FAILURE_MODES)}")
    _current[0] = _Mode(failure_mode, traceback_chain, traceback_limit)


def failsafe(func: Callable[P, R]) -> Callable[P, R]:
    """Apply the failure mode to ``func`` (in "warn" and "log" modes it returns None on
    failure, as rubicon-ml's methods do)."""

    @functools.wraps(func)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Exception:
            mode = _current[0]
            if mode.name == "raise":
                raise
            text = traceback.format_exc(limit=mode.limit, chain=mode.chain)
            if mode.name == "warn":
                warnings.warn(text, stacklevel=2)
            else:
                logging.error(text)
            return None  # type: ignore[return-value]  # rubicon-ml's contract

    return guarded
