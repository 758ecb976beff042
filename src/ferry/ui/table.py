"""The experiments table as data: rows keyed by column, filtered, sorted and paged.

A row is a dict: the experiment's fields (``id``, ``name``, ``tags``, ``created_at``, ...)
and, when they were asked for, ``param:<name>`` and ``metric:<name>`` entries. This module
knows nothing of storage; :mod:`ferry.ui.tracking_source` builds the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ferry.errors import ConfigError
from ferry.ui.query import Ref, name_matcher, parse

__all__ = ["FIELDS", "Columns", "TableQuery", "page_of", "shown_column", "sort_rows"]

FIELDS = (
    "id",
    "name",
    "description",
    "model_name",
    "branch_name",
    "commit_hash",
    "tags",
    "created_at",
)
MAX_PAGE = 500

Row = dict[str, Any]


@dataclass(frozen=True)
class Columns:
    """The parameter and metric names of a project, in first-seen order."""

    params: Sequence[str] = ()
    metrics: Sequence[str] = ()

    def resolve(self, ref: Ref) -> str:
        """The row key a filter name stands for: a metric, else a parameter, else a field."""
        if ref.kind in ("metric", "any") and ref.name in self.metrics:
            return f"metric:{ref.name}"
        if ref.kind in ("param", "any") and ref.name in self.params:
            return f"param:{ref.name}"
        if ref.kind == "any" and ref.name in FIELDS:
            return ref.name
        known = list(dict.fromkeys([*self.metrics[:8], *self.params[:8]]))
        where = {"metric": "metric", "param": "parameter"}.get(ref.kind, "metric or parameter")
        raise ConfigError(
            f"No {where} named {ref.name!r} in this project.",
            f"Known names include: {', '.join(known) or 'none'}.",
        )

    def check(self, key: str) -> str:
        """``key`` if it is a column of this project, else a ConfigError."""
        kind, _, name = key.partition(":")
        known = {"param": self.params, "metric": self.metrics}.get(kind)
        if (known is not None and name in known) or key in FIELDS:
            return key
        raise ConfigError(f"No column {key!r} in this project.", "Pick one from the columns list.")


def shown_column(key: str) -> str:
    """``key`` if it names a field, a ``param:`` or a ``metric:`` column, else ConfigError.
    (A shown column need not exist: experiments without it show an empty cell.)"""
    kind, _, name = key.partition(":")
    if key in FIELDS or (kind in ("param", "metric") and name):
        return key
    raise ConfigError(f"No column {key!r}.", "Columns are fields, param:<name> or metric:<name>.")


@dataclass(frozen=True)
class TableQuery:
    """What the experiments page asks for (every part optional)."""

    name: str = ""
    tags: Sequence[str] = ()
    qtype: str = "or"
    where: str = ""
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50
    columns: Sequence[str] = field(default_factory=tuple)
    default_metrics: int = 0

    def __post_init__(self) -> None:
        if self.qtype not in ("or", "and"):
            raise ConfigError(f"qtype must be 'or' or 'and', not {self.qtype!r}.", "")
        if not 1 <= self.limit <= MAX_PAGE or self.offset < 0:
            raise ConfigError(
                "offset must be >= 0 and limit between 1 and 500.", "Ask for a smaller page."
            )

    def ordering_kinds(self) -> set[str]:
        """Which of "param" / "metric" the sort and the filter need for every row."""
        needed = {self.sort.partition(":")[0]} if ":" in self.sort else set()
        if self.where.strip():
            for ref in parse(self.where).refs:
                needed |= {"param", "metric"} if ref.kind == "any" else {ref.kind}
        return needed & {"param", "metric"}

    def shown_kinds(self) -> set[str]:
        """Which of "param" / "metric" the shown columns need, for the page's rows only."""
        kinds = {c.partition(":")[0] for c in self.columns if ":" in c}
        return (kinds | ({"metric"} if self.default_metrics else set())) & {"param", "metric"}


def page_of(
    rows: Sequence[Row],
    query: TableQuery,
    columns: Columns,
    complete: Callable[[list[Row]], list[Row]] = list,
) -> dict[str, Any]:
    """Filter by name and expression, sort, and cut one page of the chosen columns;
    ``complete`` adds to the page's rows the values that only shown columns need."""
    kept: Iterable[Row] = rows
    if query.name.strip():
        matches = name_matcher(query.name)
        kept = [r for r in kept if matches(r.get("name"))]
    if query.where.strip():
        test = parse(query.where).bind(columns.resolve)
        kept = [r for r in kept if test(r)]
    ordered = sort_rows(list(kept), columns.check(query.sort), query.descending)
    shown = ["id", "name", *(shown_column(c) for c in query.columns if c not in ("id", "name"))]
    page = complete(ordered[query.offset : query.offset + query.limit])
    if query.default_metrics:
        seen = dict.fromkeys(k for row in page for k in row if k.startswith("metric:"))
        shown += [k for k in seen if k not in shown][: query.default_metrics]
    return {
        "total": len(ordered),
        "offset": query.offset,
        "limit": query.limit,
        "columns": shown,
        "rows": [{c: r.get(c) for c in shown} for r in page],
    }


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows by ``key``: numbers before text before anything else; missing values last in
    both directions; ties keep their order."""
    present = [r for r in rows if _sort_value(r.get(key)) is not None]
    missing = [r for r in rows if _sort_value(r.get(key)) is None]
    ranked: Callable[[Row], tuple[int, Any]] = lambda r: _sort_value(r.get(key))  # type: ignore[assignment,return-value]  # noqa: E731
    return sorted(present, key=ranked, reverse=descending) + missing


def _sort_value(value: Any) -> tuple[int, Any] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float):
        return (0, float(value))
    if isinstance(value, datetime):
        return (0, value.timestamp())
    if isinstance(value, str):
        return (1, value.lower())
    if isinstance(value, Mapping | list | tuple | set):
        return (2, str(sorted(value) if isinstance(value, set) else value))
    return (2, str(value))
