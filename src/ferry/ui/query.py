"""The experiments table's filters: names with wildcards, and expressions on columns.

An expression is a small, safe subset of Python parsed with :mod:`ast` (never evaluated)::

    accuracy > 0.9 and params.max_depth <= 8
    metrics.`val/loss` < 0.2 or not model_name == "rf"
    0.8 <= auc < 0.9 and optimizer in ("adam", "sgd")

- A plain name is a metric, else a parameter, else a field (``name``, ``model_name``, ...);
  ``metrics.x`` / ``params.x`` say which. Names that are not identifiers go in backticks.
- SQL habits are accepted: ``=`` for ``==``, ``AND`` / ``OR`` / ``NOT``.
- A comparison with a missing value, or between a number and a string, is false.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.errors import ConfigError

__all__ = ["MISSING", "Expression", "Ref", "name_matcher", "parse"]

MISSING: Any = object()
Row = Mapping[str, Any]

_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_KINDS = {"metrics": "metric", "metric": "metric", "params": "param", "param": "param"}
_QUOTED = re.compile(r"`([^`]*)`")
_SQL_WORDS = re.compile(r"\b(AND|OR|NOT|TRUE|FALSE|NULL|IN)\b")
_SQL_VALUES = {"TRUE": "True", "FALSE": "False", "NULL": "None"}
_LONE_EQUALS = re.compile(r"(?<![<>!=])=(?!=)")
_STRINGS = re.compile(r"('[^']*'|\"[^\"]*\")")


@dataclass(frozen=True)
class Ref:
    """A name in an expression: ``kind`` is "metric", "param" or "any" (not said)."""

    kind: str
    name: str


class Expression:
    """A parsed filter; :meth:`bind` turns it into a test on table rows."""

    def __init__(self, text: str, tree: ast.expr, quoted: dict[str, str]) -> None:
        self.text = text
        self._tree = tree
        self._quoted = quoted
        self._compile(tree, _AnyKey())  # refuses anything but names, values, comparisons
        self.refs = self._collect_refs(tree)

    def bind(self, resolve: Callable[[Ref], str]) -> Callable[[Row], bool]:
        """A predicate on rows; ``resolve`` maps each name to its row key (or raises)."""
        keys = {ref: resolve(ref) for ref in self.refs}
        compiled = self._compile(self._tree, keys)
        return lambda row: bool(_truthy(compiled(row)))

    # -- compiling ---------------------------------------------------------------------

    def _collect_refs(self, tree: ast.expr) -> set[Ref]:
        refs: set[Ref] = set()
        for node in ast.walk(tree):
            ref = self._ref(node)
            if ref is not None:
                refs.add(ref)
        return refs

    def _ref(self, node: ast.AST) -> Ref | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            kind = _KINDS.get(node.value.id)
            if kind is None:
                raise self._error(f"'{node.value.id}.' is not metrics. or params.")
            return Ref(kind, self._quoted.get(node.attr, node.attr))
        if isinstance(node, ast.Name) and node.id not in _KINDS:
            return Ref("any", self._quoted.get(node.id, node.id))
        return None

    def _compile(self, node: ast.expr, keys: dict[Ref, str]) -> Callable[[Row], Any]:
        ref = self._ref(node)
        if ref is not None:
            key = keys[ref]
            return lambda row: _present(row.get(key, MISSING))
        if isinstance(node, ast.Constant) and _is_literal(node.value):
            value = node.value
            return lambda row: value
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = [self._compile(item, keys) for item in node.elts]
            return lambda row: [item(row) for item in items]
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node, keys)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, keys)
        if isinstance(node, ast.Compare):
            return self._compare(node, keys)
        raise self._error(f"'{ast.unparse(node)}' is not a name, a value or a comparison")

    def _bool_op(self, node: ast.BoolOp, keys: dict[Ref, str]) -> Callable[[Row], Any]:
        parts = [self._compile(value, keys) for value in node.values]
        combine = all if isinstance(node.op, ast.And) else any
        return lambda row: combine(_truthy(part(row)) for part in parts)

    def _unary(self, node: ast.UnaryOp, keys: dict[Ref, str]) -> Callable[[Row], Any]:
        operand = self._compile(node.operand, keys)
        if isinstance(node.op, ast.Not):
            return lambda row: not _truthy(operand(row))
        if isinstance(node.op, ast.USub | ast.UAdd):
            sign = -1 if isinstance(node.op, ast.USub) else 1
            return lambda row: _signed(operand(row), sign)
        raise self._error(f"'{ast.unparse(node)}' uses an operator filters do not have")

    def _compare(self, node: ast.Compare, keys: dict[Ref, str]) -> Callable[[Row], Any]:
        operands = [self._compile(node.left, keys)] + [
            self._compile(c, keys) for c in node.comparators
        ]
        tests = [_COMPARISONS[type(op)] for op in node.ops]

        def compare(row: Row) -> bool:
            values = [operand(row) for operand in operands]
            return all(
                _safely(test, a, b) for test, a, b in zip(tests, values, values[1:], strict=False)
            )

        return compare

    def _error(self, detail: str) -> ConfigError:
        return ConfigError(
            f"Filter {self.text!r} not understood: {detail}.",
            "Write comparisons like `accuracy > 0.9 and params.depth <= 8`; "
            "put names with other characters in backticks (`val/loss`).",
        )


def parse(text: str) -> Expression:
    """Parse a filter expression (see the module docstring); ConfigError when invalid."""
    quoted: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        placeholder = f"_ferry_q{len(quoted)}"
        quoted[placeholder] = match.group(1)
        return placeholder

    source = _sql_to_python(_QUOTED.sub(quote, text.strip()))
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        invalid = Expression(text, ast.Constant(True), quoted)
        raise invalid._error("it is not a valid expression") from None
    return Expression(text, tree, quoted)


def _sql_to_python(source: str) -> str:
    """``=`` to ``==`` and upper-case SQL words to Python's, outside string literals."""
    parts = _STRINGS.split(source)
    for index in range(0, len(parts), 2):  # even parts are outside quotes
        text = _LONE_EQUALS.sub("==", parts[index])
        parts[index] = _SQL_WORDS.sub(lambda m: _SQL_VALUES.get(m[1], m[1].lower()), text)
    return "".join(parts)


def name_matcher(pattern: str) -> Callable[[str | None], bool]:
    """Names matching ``pattern``: ``*`` wildcards over the whole name (as tracking's tag
    filter), else a substring; both ignore case."""
    text = pattern.strip().lower()
    if "*" in text:
        regex = re.compile("^" + ".*".join(map(re.escape, text.split("*"))) + "$")
        return lambda name: bool(regex.match((name or "").lower()))
    return lambda name: text in (name or "").lower()


class _AnyKey(dict[Ref, str]):
    """Every name resolves (to no column): for checking an expression's shape only."""

    def __missing__(self, ref: Ref) -> str:
        return ""


def _is_literal(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _present(value: Any) -> Any:
    """NaN counts as missing: it compares false with everything anyway."""
    return MISSING if isinstance(value, float) and math.isnan(value) else value


def _truthy(value: Any) -> bool:
    return value is not MISSING and bool(value)


def _signed(value: Any, sign: int) -> Any:
    return value * sign if isinstance(value, int | float) else MISSING


def _safely(test: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if left is MISSING or right is MISSING:
        return False
    try:
        return bool(test(left, right))
    except TypeError:  # a number against a string, a value against a non-container
        return False
