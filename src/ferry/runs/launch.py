"""Provisioning (workflow A): ledger first, then secrets, bundle and the instance, each
create call preceded by an intent line and followed by the id it returned."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ferry.errors import ConfigError
from ferry.runs.bundle import RunStores, build_wheel, upload_bundle
from ferry.runs.cost import estimate
from ferry.runs.layout import TAG_EXPIRES, TAG_OWNER, TAG_RUN, new_run_id, ssm_name
from ferry.runs.ledger import Ledger
from ferry.runs.plan import provision_plan
from ferry.runs.provider import LaunchRequest, Provider
from ferry.runs.runconfig import GitSource, RunConfig, WorkspaceConfig
from ferry.runs.spec import RunSpec
from ferry.runs.userdata import user_data
from ferry.storage.s3 import S3Options
from ferry.sync.workspace import Workspace

__all__ = ["Launched", "RunEnv", "check_budget", "launch", "run_root"]

Event = Callable[[str], None]


@dataclass
class RunEnv:
    """What the dev-machine side of runs is given: a cloud, a ledger, S3, a clock.

    Args:
        provider: the cloud (an :class:`~ferry.runs.ec2.Ec2Provider`).
        ledger: the local run ledger.
        s3: S3 options (the SSE-C key, if any, is the workspace's).
        endpoints: service -> URL the instance must use (empty on AWS).
        poll_s: pause between two looks at S3 or EC2 while waiting.
        clock: the current time (UTC).
    """

    provider: Provider
    ledger: Ledger
    s3: S3Options
    endpoints: Mapping[str, str] = field(default_factory=dict)
    poll_s: float = 2.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def sleep(self, seconds: float | None = None) -> None:
        time.sleep(self.poll_s if seconds is None else seconds)

    def stores(self, run_url: str, sse_c: bool) -> RunStores:
        return RunStores(run_url, self.s3, sse_c)


@dataclass(frozen=True)
class Launched:
    """A run whose instance was created."""

    run_id: str
    run_url: str
    instance_id: str
    config: RunConfig
    stores: RunStores
    started: datetime


def run_root(spec: RunSpec, workspace: Workspace) -> str:
    """``[run] runs_prefix``, else ``<workspace remote_root>/runs``."""
    return (spec.runs_prefix or f"{workspace.remote_root.rstrip('/')}/runs").rstrip("/")


def check_budget(spec: RunSpec) -> None:
    """Refuse a run whose longest possible cost exceeds ``[run] budget``."""
    if spec.budget is None:
        return
    worst = estimate(
        spec.instance_type,
        spec.expires_after_s,
        spec.root_volume_gb + spec.data_volume_gb,
        spec.price_per_hour,
    )
    if worst.total is None:
        raise ConfigError(
            f"[run] budget is set, but ferry has no price for {spec.instance_type}.",
            "Add price_per_hour = <dollars> to [run].",
        )
    if worst.total > spec.budget:
        raise ConfigError(
            f"This run may cost up to ${worst.total:.2f} (max_runtime + grace + boot), over "
            f"the budget of ${spec.budget:.2f}.",
            "Lower max_runtime, pick a cheaper instance_type, or raise budget.",
        )


def _config(
    spec: RunSpec,
    workspace: Workspace,
    run_id: str,
    env: RunEnv,
    secrets: Mapping[str, str],
    version: str,
) -> RunConfig:
    names = {m.name for m in workspace.mappings}
    pull = (
        spec.pull
        if spec.pull is not None
        else tuple(m.name for m in workspace.mappings if m.direction == "pull")
    )
    push = (
        spec.push
        if spec.push is not None
        else tuple(m.name for m in workspace.mappings if m.direction != "pull")
    )
    for name in (*pull, *push):
        if name not in names:
            raise ConfigError(
                f"[run] names the mapping {name!r}, which the workspace lacks.",
                f"Mappings: {', '.join(sorted(names))}.",
            )
    git = GitSource(spec.git_url, spec.git_ref, spec.overrides) if spec.git_url else None
    return RunConfig(
        run_id=run_id,
        ferry_version=version,
        region=env.provider.region,
        workspace=WorkspaceConfig(workspace.remote_root, workspace.mappings),
        train=spec.train,
        max_runtime_s=spec.max_runtime_s,
        grace_s=spec.grace_s,
        endpoints=dict(env.endpoints),
        pull=pull,
        push=push,
        git=git,
        setup=spec.setup,
        heartbeat_s=spec.heartbeat_s,
        log_flush_s=spec.log_flush_s,
        secrets={n: ssm_name(run_id, n) for n in secrets},
        sse_c="sse-c-key" in secrets,
        storage_class=env.s3.storage_class,
        market=spec.market,
    )


def launch(
    spec: RunSpec,
    workspace: Workspace,
    env: RunEnv,
    *,
    secrets: Mapping[str, str],
    on_event: Event = lambda _: None,
    on_start: Event = lambda _: None,
) -> Launched:
    """Create everything a run needs; the ledger names it all before teardown may run.

    Args:
        spec: the run file.
        workspace: the workspace (its remote root and mappings go to the instance).
        env: provider, ledger, S3.
        secrets: secret name (``sse-c-key``, ``git-token``, ``deploy-key``) -> value.
        on_event: progress lines for the user.
        on_start: called with the run id once the ledger names the run (before any create).
    """
    import importlib.metadata

    check_budget(spec)
    version = importlib.metadata.version("ferry")
    started = env.clock()
    run_id = new_run_id(spec.name, started)
    run_url = f"{run_root(spec, workspace)}/{run_id}/"
    config = _config(spec, workspace, run_id, env, secrets, version)
    stores = env.stores(run_url, config.sse_c)
    env.ledger.start(
        run_id,
        region=env.provider.region,
        run_url=run_url,
        sse_c=config.sse_c,
        instance_type=spec.instance_type,
        market=spec.market,
        price_per_hour=spec.price_per_hour,
        volume_gb=spec.root_volume_gb + spec.data_volume_gb,
        max_runtime_s=spec.max_runtime_s,
        grace_s=spec.grace_s,
        final_wait_s=spec.final_wait_s,
        boot_timeout_s=spec.boot_timeout_s,
        budget=spec.budget,
    )
    on_start(run_id)
    on_event(f"run {run_id}: {spec.instance_type} ({spec.market}) in {env.provider.region}")
    tags = _tags(spec, run_id, env, started)
    instance_id = _apply(spec, env, config, stores, tags, secrets, on_event)
    return Launched(run_id, run_url, instance_id, config, stores, started)


def _tags(spec: RunSpec, run_id: str, env: RunEnv, started: datetime) -> dict[str, str]:
    expires = started + timedelta(seconds=spec.expires_after_s)
    return {
        **spec.tags,
        TAG_RUN: run_id,
        TAG_OWNER: env.provider.identity(),
        TAG_EXPIRES: expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _apply(
    spec: RunSpec,
    env: RunEnv,
    config: RunConfig,
    stores: RunStores,
    tags: dict[str, str],
    secrets: Mapping[str, str],
    on_event: Event,
) -> str:
    run_id, ledger, provider = config.run_id, env.ledger, env.provider
    groups = list(spec.security_groups) or provider.default_security_groups()
    image = provider.resolve_image(spec.ami, spec.ami_owners)
    wheel_url = ""
    for step in provision_plan(run_id, list(secrets), spec.allow_ssh):
        ledger.append(run_id, "intent", kind=step.kind, name=step.name, token=step.token)
        if step.kind == "put-secret":
            provider.put_secret(config.secrets[step.name], secrets[step.name], tags)
            ledger.append(run_id, "created", kind="ssm-parameter", id=config.secrets[step.name])
        elif step.kind == "create-ssh-group":
            assert spec.ssh_cidr is not None
            group = provider.create_ssh_group(run_id, spec.ssh_cidr, tags)
            ledger.append(run_id, "created", kind="security-group", id=group)
            groups.append(group)
        elif step.kind == "upload-bundle":
            with tempfile.TemporaryDirectory() as folder:
                key = upload_bundle(stores, config, spec.folder, build_wheel(Path(folder)))
            wheel_url = stores.presign(key, 6 * 3600)
            ledger.append(run_id, "bundled", key=key)
            on_event(f"bundle uploaded to {stores.run_url}bundle/")
        else:
            request = LaunchRequest(
                run_id=run_id,
                client_token=step.token,
                image=image,
                instance_type=spec.instance_type,
                tags=tags,
                market=spec.market,
                user_data=user_data(
                    run_id=run_id,
                    run_url=stores.run_url,
                    wheel_url=wheel_url,
                    wheel_name=key.rsplit("/", 1)[-1],
                    region=provider.region,
                    endpoints=config.endpoints,
                    max_runtime_s=spec.max_runtime_s,
                    grace_s=spec.grace_s,
                    version=config.ferry_version,
                ),
                root_volume_gb=spec.root_volume_gb,
                data_volume_gb=spec.data_volume_gb,
                security_group_ids=groups,
                subnet_id=spec.subnet_id,
                instance_profile=spec.instance_profile or None,
                key_name=spec.key_name,
            )
            instance_id = provider.run_instance(request)
            ledger.append(run_id, "created", kind="instance", id=instance_id)
            on_event(f"instance {instance_id} launched ({image.name or image.id})")
    return instance_id
