"""What the supervisor settles before any work: the run's config, its settings and
secrets, and the environment its commands run in.

The bundle (``bundle/run.json``, overrides) is read without SSE-C: the dev machine writes
it plain (it holds no secrets) and the SSE-C key itself is one of the secrets. Everything
written after that uses the run's settings, SSE-C key included when the run asks for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ferry.aws import AwsOptions
from ferry.config import Secret as config_secret
from ferry.config import Settings
from ferry.errors import AlreadyExistsError, ConfigError, FerryError
from ferry.runs import layout
from ferry.runs.executor.bus import Bus
from ferry.runs.executor.ranks import Rank
from ferry.runs.executor.secrets import Secret, read_secrets
from ferry.runs.runconfig import RunConfig
from ferry.storage import Store, open_store
from ferry.storage.s3 import S3Options

__all__ = [
    "child_env",
    "endpoint_env",
    "open_run_store",
    "plain",
    "read_config",
    "run_settings",
    "with_secrets",
]


def open_run_store(run_url: str, settings: Settings) -> Store:
    """The run's prefix as a store, with these settings (SSE-C key or not)."""
    return open_store(run_url.rstrip("/"), s3_options=S3Options.from_settings(settings))


def plain(settings: Settings) -> Settings:
    """The same settings without an SSE-C key (for the bundle)."""
    return dataclasses.replace(settings, sse_c_key=None, sse_c_key_file=None)


def read_config(run_url: str, settings: Settings, rank: Rank) -> tuple[RunConfig, Store]:
    """The run's config and its prefix (unencrypted); refuses a run that already finished.

    Raises:
        FerryError: run.json is missing or unreadable, names another run, or the run's
            final.json exists (a run is executed once).
    """
    store = open_run_store(run_url, plain(settings))
    try:
        config = RunConfig.from_json(store.get(layout.RUN_JSON))
    except FerryError as exc:
        raise type(exc)(
            f"Cannot read the run's config {run_url.rstrip('/')}/{layout.RUN_JSON}: {exc.problem}",
            exc.fix or "Check the run URL.",
        ) from exc
    if not run_url.rstrip("/").endswith("/" + config.run_id):
        raise ConfigError(
            f"{run_url} holds the config of run {config.run_id}.",
            "Pass the run's own prefix: s3://bucket/<run root>/<run id>/.",
        )
    if Bus(store, rank).finished():
        raise AlreadyExistsError(
            f"Run {config.run_id} has already finished (its final.json exists).",
            "A run is executed once; start a new one with 'ferry run'.",
        )
    return config, store


def run_settings(base: Settings, config: RunConfig) -> Settings:
    """The settings the run's data moves with: this machine's credentials and endpoints,
    the run's region, storage class and endpoints; no SSE-C key yet."""
    endpoints = {**config.endpoints, **base.endpoints}
    return dataclasses.replace(
        plain(base),
        region=base.region or config.region,
        storage_class=config.storage_class,
        endpoints=endpoints,
        endpoint_url=base.endpoint_url or endpoints.get("s3"),
    )


def with_secrets(settings: Settings, config: RunConfig) -> tuple[Settings, dict[str, Secret]]:
    """The run's secrets from SSM, and the settings with the SSE-C key when the run uses it.

    Raises:
        FerryError: a secret is missing or SSM cannot be read; SSE-C asked for without a key.
    """
    secrets = read_secrets(config.secrets, AwsOptions.from_settings(settings))
    if not config.sse_c:
        return settings, secrets
    key = secrets.get("sse-c-key")
    if key is None:
        raise ConfigError(
            "run.json asks for SSE-C but names no sse-c-key secret.",
            "Re-run 'ferry run' (it stores the key in SSM).",
        )
    return dataclasses.replace(settings, sse_c_key=config_secret(key.reveal())), secrets


def child_env(
    base: Mapping[str, str], config: RunConfig, rank: Rank, run_url: str, settings: Settings
) -> dict[str, str]:
    """The environment of setup commands and training: this machine's, plus the run's
    variables, its endpoints and region, and the SSE-C key when the run uses one (so the
    training's own ferry tracking reads and writes the run's prefix)."""
    env = dict(base)
    env.update(
        FERRY_RUN_ID=config.run_id,
        FERRY_RUN_URL=run_url.rstrip("/") + "/",
        FERRY_RUN_RANK=str(rank.rank),
        FERRY_RUN_WORLD_SIZE=str(rank.world_size),
    )
    env.setdefault("RANK", str(rank.rank))
    env.setdefault("WORLD_SIZE", str(rank.world_size))
    env.setdefault("PYTHONUNBUFFERED", "1")  # so a killed Python training loses no line
    env.setdefault("AWS_DEFAULT_REGION", config.region)
    for name, url in endpoint_env(config.endpoints).items():
        env.setdefault(name, url)
    if config.sse_c and settings.sse_c_key:
        env["FERRY_SSE_C_KEY"] = settings.sse_c_key.reveal()
    return env


def endpoint_env(endpoints: Mapping[str, str]) -> dict[str, str]:
    """The ``AWS_ENDPOINT_URL_<SERVICE>`` variables (``AWS_ENDPOINT_URL`` for the key
    ``""``) that point AWS tools, ferry included, at these endpoints."""
    return {
        f"AWS_ENDPOINT_URL_{service.upper()}" if service else "AWS_ENDPOINT_URL": url
        for service, url in sorted(endpoints.items())
    }
