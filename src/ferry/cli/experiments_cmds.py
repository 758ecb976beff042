"""``ferry experiments ls|show|compare ROOT PROJECT``: tracked experiments side by side."""

from __future__ import annotations

from typing import Any

import click

from ferry.cli.options import dry_run_option
from ferry.cli.output import emit_json, is_terminal, print_table

__all__ = ["experiments"]


def _rubicon(obj: dict[str, Any], root: str) -> Any:
    """The client on ``root``; a local root that does not exist is surely a typo."""
    from pathlib import Path

    from ferry.errors import NotFoundError
    from ferry.tracking import Rubicon

    if "://" not in root and not Path(root).expanduser().is_dir():
        raise NotFoundError(
            f"No tracking root at {root} (no such folder).",
            f"Check the path; for S3, write s3://bucket/prefix (ferry ls s3://{root}).",
        )
    options = {k: v for k, v in obj.items() if v is not None}
    return Rubicon(persistence="filesystem", root_dir=root, **options)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table fitted to the terminal; tab-separated lines when piped."""
    print_table(title, columns, [[_cell(v) for v in row] for row in rows])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if hasattr(value, "isoformat"):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


@click.group()
def experiments() -> None:
    """Browse tracked experiments (a local root or s3://bucket/prefix)."""


@experiments.command("ls")
@click.argument("root")
@click.argument("project", required=False)
@click.option("--tag", "tags", multiple=True, help="Only experiments with this tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def ls(
    obj: dict[str, Any], root: str, project: str | None, tags: tuple[str, ...], as_json: bool
) -> None:
    """List the projects of ROOT, or the experiments of PROJECT."""
    rubicon = _rubicon(obj, root)
    if project is None:
        projects = rubicon.projects()
        if as_json:
            emit_json([{"name": p.name, "id": p.id, "created_at": p.created_at} for p in projects])
        else:
            _table(
                "projects",
                ["name", "id", "created"],
                [[p.name, p.id, p.created_at] for p in projects],
            )
        return
    found = rubicon.get_project(project).experiments(tags=list(tags) or None)
    if as_json:
        emit_json(
            [
                {
                    "id": e.id,
                    "name": e.name,
                    "model_name": e.model_name,
                    "tags": list(e.tags),
                    "created_at": e.created_at,
                }
                for e in found
            ]
        )
        return
    _table(
        f"experiments of {project}",
        ["id", "name", "model", "tags", "created"],
        [[e.id, e.name, e.model_name, sorted(e.tags), e.created_at] for e in found],
    )


@experiments.command("show")
@click.argument("root")
@click.argument("project")
@click.argument("experiment")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: dict[str, Any], root: str, project: str, experiment: str, as_json: bool) -> None:
    """Everything logged on EXPERIMENT (an id, or a name)."""
    found = _find(_rubicon(obj, root).get_project(project), experiment)
    details = {
        "id": found.id,
        "name": found.name,
        "description": found.description,
        "model_name": found.model_name,
        "branch_name": found.branch_name,
        "commit_hash": found.commit_hash,
        "tags": sorted(found.tags),
        "comments": found.comments,
        "created_at": found.created_at,
        "parameters": {p.name: p.value for p in found.parameters()},
        "metrics": {
            m.name: {"value": m.value, "directionality": m.directionality} for m in found.metrics()
        },
        "features": {f.name: f.importance for f in found.features()},
        "artifacts": [a.name for a in found.artifacts()],
        "dataframes": [d.name for d in found.dataframes()],
    }
    if as_json:
        emit_json(details)
        return
    rows = [
        [key, value]
        for key, value in details.items()
        if key not in {"parameters", "metrics", "features"}
    ]
    rows += [[f"parameter {k}", v] for k, v in details["parameters"].items()]
    rows += [
        [f"metric {k} ({v['directionality']})", v["value"]] for k, v in details["metrics"].items()
    ]
    rows += [[f"feature {k}", v] for k, v in details["features"].items()]
    _table(f"experiment {found.id}", ["field", "value"], rows)


def _find(project: Any, experiment: str) -> Any:
    from ferry.errors import RubiconException

    try:
        return project.experiment(id=experiment)
    except RubiconException:
        return project.experiment(name=experiment)


@experiments.command("compare")
@click.argument("root")
@click.argument("project")
@click.argument("selected", nargs=-1)
@click.option("--sort", "sort_by", help="Sort by this metric (best first, by directionality).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def compare(
    obj: dict[str, Any],
    root: str,
    project: str,
    selected: tuple[str, ...],
    sort_by: str | None,
    as_json: bool,
) -> None:
    """Experiments side by side: parameters and metrics as columns (all, or SELECTED ids
    or names)."""
    from ferry.tracking.table import experiment_rows

    found = _rubicon(obj, root).get_project(project).experiments()
    if selected:
        found = [e for e in found if e.id in selected or e.name in selected]
    rows, parameters, metrics = experiment_rows(found)
    if sort_by:
        if sort_by not in metrics:
            from ferry.errors import ConfigError

            raise ConfigError(
                f"No metric named {sort_by!r} in {project!r}.",
                f"Sort by one of: {', '.join(metrics) or '(no metrics logged yet)'}.",
            )
        rows = _sorted(rows, sort_by, found)
    columns = ["id", "name", *parameters, *metrics]
    if as_json:
        emit_json([{c: r.get(c) for c in columns} for r in rows])
        return
    _table(
        f"{project}: {len(rows)} experiment(s)",
        columns,
        [[r.get(c) for c in columns] for r in rows],
    )


def _sorted(rows: list[dict[str, Any]], metric: str, found: list[Any]) -> list[dict[str, Any]]:
    loss = any(m.name == metric and m.directionality == "loss" for e in found for m in e.metrics())
    present = [r for r in rows if isinstance(r.get(metric), int | float)]
    missing = [r for r in rows if r not in present]
    return sorted(present, key=lambda r: r[metric], reverse=not loss) + missing


@experiments.command("rm")
@click.argument("root")
@click.argument("project")
@click.argument("selected", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Delete without asking.")
@dry_run_option
@click.pass_obj
def rm(
    obj: dict[str, Any],
    root: str,
    project: str,
    selected: tuple[str, ...],
    yes: bool,
    dry_run: bool,
) -> None:
    """Delete experiments (SELECTED ids or names) and everything logged under them."""
    found = _rubicon(obj, root).get_project(project).experiments()
    chosen = [e for e in found if e.id in selected or e.name in selected]
    missing = set(selected) - {e.id for e in chosen} - {e.name for e in chosen}
    if missing:
        from ferry.errors import NotFoundError

        raise NotFoundError(
            f"No experiment {sorted(missing)[0]!r} in project {project!r}.",
            f"List them: ferry experiments ls {root} {project!r}",
        )
    for e in chosen:
        click.echo(f"{'(dryrun) ' if dry_run else ''}delete: {e.id} {e.name or ''}".rstrip())
    if dry_run:
        return
    if not yes and not (is_terminal() and click.confirm(f"Delete {len(chosen)} experiment(s)?")):
        from ferry.errors import ConfigError

        raise ConfigError(
            f"Deleting {len(chosen)} experiment(s) needs a confirmation.",
            "Run again with --yes (or answer the question on a terminal).",
        )
    _rubicon(obj, root).get_project(project).delete_experiments([e.id for e in chosen])
    click.echo(f"deleted {len(chosen)} experiment(s) from {project!r}")
