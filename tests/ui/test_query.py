"""Filter expressions and name patterns of the experiments table (pure functions)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ferry.errors import ConfigError
from ferry.ui.query import Ref, name_matcher, parse
from ferry.ui.table import Columns

COLUMNS = Columns(params=["max_depth", "optimizer", "auc"], metrics=["accuracy", "auc", "val/loss"])
ROW: dict[str, Any] = {
    "name": "gbm-01",
    "model_name": "rf",
    "param:max_depth": 6,
    "param:optimizer": "adam",
    "param:auc": "not the metric",
    "metric:accuracy": 0.93,
    "metric:auc": 0.88,
    "metric:val/loss": 0.15,
}


def matches(text: str, row: dict[str, Any] = ROW) -> bool:
    return parse(text).bind(COLUMNS.resolve)(row)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy > 0.9", True),
        ("accuracy > 0.95", False),
        ("accuracy > 0.9 and max_depth <= 8", True),
        ("accuracy > 0.95 or optimizer == 'adam'", True),
        ("not optimizer == 'adam'", False),
        ("0.8 <= auc < 0.9", True),  # chained; a plain name is the metric when both exist
        ("params.auc == 'not the metric'", True),
        ("metrics.auc == 0.88", True),
        ("metrics.`val/loss` < 0.2", True),
        ("`val/loss` < 0.1", False),
        ("optimizer in ('adam', 'sgd')", True),
        ("optimizer not in ['adam']", False),
        ("max_depth = 6 AND optimizer = 'adam'", True),  # SQL habits
        ("model_name == 'rf'", True),
        ("max_depth > -1", True),
        ("(accuracy > 0.99 or max_depth == 6) and name == 'gbm-01'", True),
        ("optimizer == 'a = b'", False),  # '=' inside a string is left alone
    ],
)
def test_expressions_compare_metrics_parameters_and_fields(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_missing_values_nan_and_mixed_types_never_match() -> None:
    sparse = {"name": "x", "metric:accuracy": math.nan, "param:optimizer": "adam"}
    assert not matches("accuracy > 0", sparse)
    assert not matches("accuracy <= 0", sparse)
    assert not matches("max_depth > 1", sparse)  # no such value on this row
    assert not matches("optimizer > 3")  # a string against a number: false, not an error
    assert matches("not max_depth > 1", sparse)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accuracy >", "not a valid expression"),
        ("__import__('os').system('true')", "is not a name, a value or a comparison"),
        ("accuracy.real > 1", "is not metrics. or params."),
        ("accuracy + 1 > 2", "is not a name, a value or a comparison"),
        ("lambda: 1", "is not a name, a value or a comparison"),
    ],
)
def test_anything_but_comparisons_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        matches(text)


def test_unknown_names_are_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="No metric or parameter named 'acc'.*accuracy"):
        matches("acc > 0.5")
    with pytest.raises(ConfigError, match="No parameter named 'accuracy'"):
        matches("params.accuracy > 0.5")


def test_refs_say_which_kinds_an_expression_needs() -> None:
    assert parse("metrics.auc > 1 and depth < 3").refs == {
        Ref("metric", "auc"),
        Ref("any", "depth"),
    }


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("gbm", "GBM-01", True),  # substring, any case
        ("gbm-*", "gbm-01", True),
        ("*-01", "gbm-01", True),
        ("gbm-*", "xgbm-01", False),  # wildcards match the whole name
        ("g*1", "gbm-01", True),
        ("zzz", "gbm-01", False),
        ("gbm", None, False),
    ],
)
def test_name_patterns(pattern: str, name: str | None, expected: bool) -> None:
    assert name_matcher(pattern)(name) is expected
