"""The run file ([run] in ferry.toml or run.toml): every key checked, durations, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.errors import ConfigError
from ferry.runs.spec import (
    DEFAULT_AMI,
    RunSpec,
    find_run_file,
    load_run_spec,
    parse_duration,
    spec_from_table,
)

MINIMAL = {"train": "python train.py", "instance_type": "g5.xlarge"}


def spec(**values: Any) -> RunSpec:
    return spec_from_table({**MINIMAL, **values}, Path("/project"))


def refused(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        spec_from_table(table, Path("/project"))
    return str(caught.value)


def test_defaults_are_safe() -> None:
    run = spec()
    assert run.market == "on-demand" and run.ami == DEFAULT_AMI
    assert not run.allow_ssh and run.key_name is None
    assert (run.max_runtime_s, run.grace_s) == (4 * 3600, 120)
    assert run.pull is None and run.push is None  # the workspace's mappings decide
    assert run.expires_after_s == 4 * 3600 + 120 + 900 + 15 * 60


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1h 30m 10s", 5410.0),
        ("0.5s", 0.5),
    ],
)
def test_durations(value: Any, seconds: float) -> None:
    assert parse_duration(value, "max_runtime") == seconds


@pytest.mark.parametrize("value", ["", "soon", "5 minutes", "-5", -5, True, "h", [60]])
def test_bad_durations_are_refused_with_an_example(value: Any) -> None:
    with pytest.raises(ConfigError, match=r'max_runtime = "90m"'):
        parse_duration(value, "max_runtime")


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("instance_typ", "instance_type"),
        ("max_runtme", "max_runtime"),  # the duration's name, not the internal max_runtime_s
        ("allow_shh", "allow_ssh"),
        ("overides", "overrides"),
        ("budjet", "budget"),
    ],
)
def test_unknown_keys_are_refused_with_did_you_mean(key: str, suggestion: str) -> None:
    message = refused({**MINIMAL, key: "x"})
    assert f"unknown key '{key}'" in message and f"Did you mean '{suggestion}'?" in message


def test_internal_names_are_not_keys() -> None:
    assert "unknown key 'max_runtime_s'" in refused({**MINIMAL, "max_runtime_s": 60})
    assert "unknown key 'folder'" in refused({**MINIMAL, "folder": "/elsewhere"})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"train": None}, "has no 'train'"),
        ({"instance_type": None}, "has no 'instance_type'"),
        ({"root_volume_gb": "100"}, "root_volume_gb = '100' is not int"),
        ({"root_volume_gb": True}, "root_volume_gb = True is not int"),
        ({"allow_ssh": "yes"}, "allow_ssh = 'yes' is not bool"),
        ({"budget": "20"}, "budget = '20' is not int or float"),
        ({"setup": [1, 2]}, "setup must be a list of strings"),
        ({"tags": "team=ml"}, "tags must be a table"),
        ({"market": "reserved"}, "market is 'reserved'"),
        ({"name": "My Run"}, "Run name 'My Run' is not allowed"),
        ({"name": "-run"}, "is not allowed"),
        ({"name": "a" * 42}, "is not allowed"),
        ({"max_runtime": 0}, "max_runtime must be positive"),
        ({"allow_ssh": True}, "needs ssh_cidr"),
        ({"allow_ssh": True, "ssh_cidr": "203.0.113.7/32"}, "needs ssh_cidr"),
        ({"overrides": ["../secrets.yaml"]}, "is outside the project"),
        ({"overrides": ["/etc/passwd"]}, "is outside the project"),
    ],
)
def test_invalid_values_are_refused(values: dict[str, Any], expected: str) -> None:
    table = {**MINIMAL, **values}
    table = {k: v for k, v in table.items() if v is not None}
    assert expected in refused(table)


def test_values_are_converted() -> None:
    run = spec(
        setup="pip install -e .",
        pull=["cached-datasets"],
        push=[],
        tags={"team": "vision", "cost-centre": 42},
        max_runtime="2h",
        grace=30,
        budget=20,
        allow_ssh=True,
        ssh_cidr="203.0.113.7/32",
        key_name="me",
    )
    assert run.setup == ("pip install -e .",)
    assert run.pull == ("cached-datasets",) and run.push == ()
    assert run.tags == {"team": "vision", "cost-centre": "42"}
    assert (run.max_runtime_s, run.grace_s, run.budget) == (7200.0, 30.0, 20)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


RUN = '[run]\ntrain = "python train.py"\ninstance_type = "t3.micro"\n'


def test_run_toml_wins_over_ferry_toml(tmp_path: Path) -> None:
    write(tmp_path / "ferry.toml", RUN.replace("t3.micro", "g5.xlarge"))
    write(tmp_path / "run.toml", RUN)
    assert find_run_file(tmp_path) == tmp_path / "run.toml"
    assert load_run_spec(cwd=tmp_path).instance_type == "t3.micro"


def test_the_nearest_ferry_toml_with_a_run_table_is_found(tmp_path: Path) -> None:
    write(tmp_path / "ferry.toml", RUN)
    write(tmp_path / "sub" / "ferry.toml", '[workspace]\nremote_root = "s3://b/ws"\n')
    found = load_run_spec(cwd=tmp_path / "sub")
    assert found.folder == tmp_path.resolve() and found.instance_type == "t3.micro"


def test_no_run_file_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Add a \[run\] table to ferry.toml"):
        find_run_file(tmp_path)
    with pytest.raises(ConfigError, match="has no \\[run\\] table"):
        load_run_spec(write(tmp_path / "other.toml", '[workspace]\nremote_root = "s3://b"\n'))


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "run.toml", RUN + "instance_tpye = 'x'\n")
    with pytest.raises(ConfigError, match=r"run.toml \[run\] has an unknown key 'instance_tpye'"):
        load_run_spec(path)
    write(tmp_path / "run.toml", "[runn]\n")
    with pytest.raises(ConfigError, match="Did you mean 'run'"):
        load_run_spec(cwd=tmp_path)
