"""ferry experiments ls / show / compare on a local root."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ferry import Rubicon
from ferry.cli.main import cli


def make_root(root: Path) -> list[str]:
    project = Rubicon(root_dir=str(root)).create_project("Churn Model")
    ids = []
    for i, (trees, auc) in enumerate([(50, 0.81), (200, 0.86), (100, 0.84)]):
        experiment = project.log_experiment(f"rf-{i}", model_name="rf", tags=[f"round:{i % 2}"])
        experiment.log_parameter("n_estimators", trees)
        experiment.log_metric("auc", auc)
        experiment.log_metric("log_loss", 1 - auc, directionality="loss")
        ids.append(experiment.id)
    return ids


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_ls_lists_projects_then_experiments(tmp_path: Path) -> None:
    ids = make_root(tmp_path)
    assert "Churn Model" in run("experiments", "ls", str(tmp_path))
    listed = json.loads(run("experiments", "ls", str(tmp_path), "Churn Model", "--json"))
    assert [e["id"] for e in listed] == ids
    only = json.loads(
        run("experiments", "ls", str(tmp_path), "Churn Model", "--tag", "round:1", "--json")
    )
    assert [e["name"] for e in only] == ["rf-1"]


def test_show_gives_everything_logged(tmp_path: Path) -> None:
    ids = make_root(tmp_path)
    shown = json.loads(run("experiments", "show", str(tmp_path), "Churn Model", ids[1], "--json"))
    assert shown["parameters"] == {"n_estimators": 200}
    assert shown["metrics"]["log_loss"]["directionality"] == "loss"
    assert "metric auc (score)\t0.86" in run(
        "experiments", "show", str(tmp_path), "Churn Model", "rf-1"
    )


def test_compare_puts_params_and_metrics_side_by_side_sorted_best_first(tmp_path: Path) -> None:
    make_root(tmp_path)
    table = json.loads(
        run("experiments", "compare", str(tmp_path), "Churn Model", "--sort", "auc", "--json")
    )
    assert [r["name"] for r in table] == ["rf-1", "rf-2", "rf-0"]
    assert table[0] == {**table[0], "n_estimators": 200, "auc": 0.86}
    by_loss = json.loads(
        run(
            "experiments",
            "compare",
            str(tmp_path),
            "Churn Model",
            "rf-0",
            "rf-2",
            "--sort",
            "log_loss",
            "--json",
        )
    )
    assert [r["name"] for r in by_loss] == ["rf-2", "rf-0"]
    plain = run("experiments", "compare", str(tmp_path), "Churn Model")
    assert plain.splitlines()[0] == "id\tname\tn_estimators\tauc\tlog_loss"


def test_a_missing_project_is_one_line_and_exit_13(tmp_path: Path) -> None:
    make_root(tmp_path)
    result = CliRunner().invoke(cli, ["experiments", "ls", str(tmp_path), "Nope"])
    assert result.exit_code == 13
    assert result.output == "error: No project with name 'Nope' found.\n"


def test_experiments_rm_asks_then_deletes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ferry import Rubicon
    from ferry.cli.main import cli

    root = str(tmp_path / "root")
    project = Rubicon(persistence="filesystem", root_dir=root).create_project("p")
    keep, gone = project.log_experiment("keep"), project.log_experiment("gone")
    runner = CliRunner()
    refused = runner.invoke(cli, ["experiments", "rm", root, "p", "gone"])
    assert refused.exit_code == 3 and "--yes" in refused.output
    dry = runner.invoke(cli, ["experiments", "rm", root, "p", "gone", "--dryrun"])
    assert f"(dryrun) delete: {gone.id} gone" in dry.output
    done = runner.invoke(cli, ["experiments", "rm", root, "p", "gone", "--yes"])
    assert done.exit_code == 0, done.output
    names = [
        e.name
        for e in Rubicon(persistence="filesystem", root_dir=root).get_project("p").experiments()
    ]
    assert names == [keep.name]
    missing = runner.invoke(cli, ["experiments", "rm", root, "p", "nope", "--yes"])
    assert missing.exit_code == 5 and "No experiment 'nope'" in missing.output
