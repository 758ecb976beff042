"""Settings: argument > FERRY_* env > project ferry.toml > user ferry.toml > default."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from ferry.config import load_settings
from ferry.errors import ConfigError


def write_toml(folder: Path, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ferry.toml").write_text(body)


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    user, project = tmp_path / "user", tmp_path / "project"
    write_toml(user, '[ferry]\nregion = "eu-west-1"\nconcurrency = 4\nprofile = "u"\n')
    write_toml(project, '[ferry]\nregion = "eu-west-2"\nconcurrency = 8\n')
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    settings = load_settings(
        {"region": "eu-central-1", "profile": None},
        env={"FERRY_CONCURRENCY": "16", "AWS_REGION": "us-west-2"},
        cwd=nested,
        user_config_dir=user,
    )
    assert settings.region == "eu-central-1"
    assert settings.sources["region"] == "argument"
    assert settings.concurrency == 16 and settings.sources["concurrency"] == "env FERRY_CONCURRENCY"
    assert settings.profile == "u" and settings.sources["profile"] == str(user / "ferry.toml")
    assert settings.storage_class == "INTELLIGENT_TIERING"
    assert settings.sources.get("storage_class") is None


def test_standard_aws_variables_are_honoured_when_ferry_has_none(tmp_path: Path) -> None:
    settings = load_settings(
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-2"},
        cwd=tmp_path,
        user_config_dir=tmp_path,
    )
    assert settings.endpoint_url == "http://127.0.0.1:9"
    assert settings.sources["endpoint_url"] == "env AWS_ENDPOINT_URL"
    assert settings.region == "us-east-2"


def test_a_key_in_a_config_file_is_refused(tmp_path: Path) -> None:
    write_toml(tmp_path, '[ferry]\nsse_c_key = "abc"\n')
    with pytest.raises(ConfigError, match="FERRY_SSE_C_KEY"):
        load_settings(env={}, cwd=tmp_path, user_config_dir=tmp_path / "none")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FERRY_CONCURRENCY": "lots"}, "positive whole number"),
        ({"FERRY_STORAGE_CLASS": "FROZEN"}, "INTELLIGENT_TIERING"),
        ({"FERRY_OFFLINE": "maybe"}, "true or false"),
    ],
)
def test_bad_values_name_the_setting_and_its_source(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, cwd=tmp_path, user_config_dir=tmp_path)
    assert message in str(caught.value) and "env FERRY_" in str(caught.value)


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    write_toml(tmp_path, '[ferry]\nregoin = "eu-west-1"\n')
    with pytest.raises(ConfigError, match="unknown key 'regoin'. Did you mean 'region'"):
        load_settings(env={}, cwd=tmp_path, user_config_dir=tmp_path / "none")


def test_settings_rows_redact_the_key(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    rows = load_settings(
        env={"FERRY_SSE_C_KEY": key}, cwd=tmp_path, user_config_dir=tmp_path
    ).rows()
    assert ("sse_c_key", "<redacted>", "env FERRY_SSE_C_KEY") in rows
    assert key not in repr(rows) and key not in repr(
        load_settings(env={"FERRY_SSE_C_KEY": key}, cwd=tmp_path, user_config_dir=tmp_path)
    )


def test_unknown_tables_are_refused_with_the_closest_name(tmp_path: Path) -> None:
    write_toml(tmp_path, '[worksapce]\nremote_root = "s3://b/p"\n')
    with pytest.raises(ConfigError, match="unknown key 'worksapce'. Did you mean 'workspace'"):
        load_settings(env={}, cwd=tmp_path, user_config_dir=tmp_path / "none")


def test_per_service_endpoints_as_boto3_reads_them(tmp_path: Path) -> None:
    write_toml(tmp_path, '[ferry.endpoints]\niam = "http://127.0.0.1:7"\nsts = "http://x:1"\n')
    settings = load_settings(
        env={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:5000",
            "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:8",
        },
        cwd=tmp_path,
        user_config_dir=tmp_path / "none",
    )
    from ferry.aws import AwsOptions

    aws = AwsOptions.from_settings(settings)
    assert aws.endpoint_for("ec2") == "http://127.0.0.1:5000"
    assert aws.endpoint_for("iam") == "http://127.0.0.1:7"  # from ferry.toml
    assert aws.endpoint_for("sts") == "http://127.0.0.1:8"  # the environment wins
    assert aws.endpoint_for("s3") == "http://127.0.0.1:9"  # AWS_ENDPOINT_URL: every service
    assert aws.endpoint_for("ssm") == "http://127.0.0.1:9"


@pytest.mark.parametrize("value", ["127.0.0.1:4566", "localhost:9000"])
def test_an_endpoint_without_scheme_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="no http:// or https:// scheme"):
        load_settings(env={"FERRY_ENDPOINT_URL": value}, cwd=tmp_path, user_config_dir=tmp_path)
    with pytest.raises(ConfigError, match="no http:// or https:// scheme"):
        load_settings(env={"AWS_ENDPOINT_URL_EC2": value}, cwd=tmp_path, user_config_dir=tmp_path)
