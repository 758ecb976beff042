"""ferry.toml's [workspace]: a typo or an overlap is refused at load, naming both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.errors import ConfigError
from ferry.sync import Mapping, Workspace, find_workspace

HEAD = '[workspace]\nremote_root = "s3://bucket/team"\n'


def load(tmp_path: Path, body: str) -> Workspace:
    (tmp_path / "ferry.toml").write_text(HEAD + body)
    return find_workspace(tmp_path)


def mapping(name: str, local: str, remote: str, extra: str = "") -> str:
    return (
        f'[[workspace.mapping]]\nname = "{name}"\nlocal = "{local}"\nremote = "{remote}"\n{extra}'
    )


def test_a_typo_in_a_mapping_is_refused_with_the_closest_key(tmp_path: Path) -> None:
    body = mapping("datasets", "data/ds", "cached-datasets", 'directon = "pull"\n')
    with pytest.raises(ConfigError, match="unknown key 'directon'. Did you mean 'direction'"):
        load(tmp_path, body)


def test_a_typo_in_the_workspace_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'mappings'. Did you mean 'mapping'"):
        load(tmp_path, "mappings = []\n")


@pytest.mark.parametrize(
    ("a", "b", "side"),
    [
        (("data/a", "same"), ("data/b", "same"), "remote prefix 'same' and 'same'"),
        (("data/a", "logs"), ("data/b", "logs/old"), "remote prefix 'logs' and 'logs/old'"),
        (("data", "x"), ("data/logs", "y"), "folder 'data' and 'data/logs'"),
        (("data/logs", "x"), ("data/logs/", "y"), "folder"),
    ],
)
def test_overlapping_mappings_are_refused_naming_both(
    tmp_path: Path, a: tuple[str, str], b: tuple[str, str], side: str
) -> None:
    body = mapping("first", *a) + mapping("second", *b)
    with pytest.raises(ConfigError, match="mappings 'first' and 'second' overlap") as info:
        load(tmp_path, body)
    assert side in str(info.value)


def test_side_by_side_mappings_with_similar_names_are_fine(tmp_path: Path) -> None:
    ws = load(tmp_path, mapping("a", "data/run-1", "run-1") + mapping("b", "data/run-10", "run-10"))
    assert [m.name for m in ws.mappings] == ["a", "b"]


def test_a_workspace_built_in_code_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="overlap"):
        Workspace(tmp_path, "s3://b/p", (Mapping("a", "x", "r"), Mapping("b", "y", "r/s")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[workspace.mapping]]\nlocal = "data/x"\nremote = 3\n', "not a string"),
        ('[[workspace.mapping]]\nlocal = "."\nremote = "x"\n', "not a folder inside"),
        ('[[workspace.mapping]]\nlocal = "data/x"\nremote = "/"\n', "empty remote prefix"),
        ("mapping = 3\n", "must be a list"),
        ('[[workspace.mapping]]\nlocal = "d"\nremote = "x"\ndirection = "pul"\n', "direction"),
    ],
)
def test_malformed_mappings_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, body)
