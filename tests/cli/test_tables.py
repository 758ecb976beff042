"""Issue #12: summary tables fit an 80-column terminal; no name is ever cut."""

from __future__ import annotations

import io

from rich.console import Console

from ferry.cli.output import print_table


def render(columns: list[str], rows: list[list[str]], width: int = 80) -> str:
    out = io.StringIO()
    print_table("t", columns, rows, console=Console(file=out, width=width, force_terminal=False))
    return out.getvalue()


def test_the_sync_summary_fits_80_columns_and_keeps_long_names_whole() -> None:
    from ferry.cli.sync_cmds import summary
    from ferry.sync import Mapping, Outcome, Plan, Report

    name = "cached-datasets-of-the-churn-model-2026"
    report = Report(
        name,
        "push",
        uploaded=2000,
        uploaded_bytes=8_200_000,
        downloaded=1,
        downloaded_bytes=1,
        deleted_remote=10,
        skipped=30000,
        seconds=12.21,
    )
    outcomes = [Outcome(Mapping(name, "d", "r"), "push", Plan(), report)]
    text = render(*summary(outcomes))
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "…" not in text and "..." not in text
    first_column = [line.split("│")[1].strip() for line in text.splitlines() if "│" in line]
    assert "".join(first_column) == name  # folded over lines, whole
    assert "more column(s) not shown" not in text  # all nine fit


def test_columns_that_cannot_fit_are_named_not_squashed() -> None:
    columns = ["id", "name"] + [f"metric_number_{i}" for i in range(12)]
    rows = [["e1", "baseline"] + ["0.123456"] * 12]
    text = render(columns, rows)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "more column(s) not shown" in text and "metric_number_11" in text
    assert "…" not in text
