"""What provisioning and teardown need from a cloud: a small :class:`Provider` protocol.

:class:`ferry.runs.ec2.Ec2Provider` implements it on boto3; tests point the same class at
moto's server. What runs the instance's user data is a :class:`Launcher`: on AWS, EC2
itself (no launcher); in tests and the demo, :class:`ferry.devec2.LocalLauncher` runs it
as a local process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

__all__ = [
    "COSTLY_KINDS",
    "Image",
    "LaunchRequest",
    "Launcher",
    "Provider",
    "Resource",
    "ResourceKind",
    "TaggedArn",
]

ResourceKind = Literal[
    "instance", "volume", "security-group", "ssm-parameter", "spot-request", "network-interface"
]
# What must be gone when a run is over (instances only once terminated).
COSTLY_KINDS: tuple[ResourceKind, ...] = (
    "instance",
    "volume",
    "security-group",
    "ssm-parameter",
    "spot-request",
)
ENDED_STATES = frozenset({"terminated", "cancelled", "closed", "deleted", "completed"})


@dataclass(frozen=True)
class Resource:
    """One cloud resource of a run, as a describe call saw it."""

    kind: ResourceKind
    id: str
    state: str
    tags: Mapping[str, str] = field(default_factory=dict)
    size_gb: int = 0
    instance_type: str = ""
    launched: datetime | None = None

    @property
    def run_id(self) -> str | None:
        return self.tags.get("ferry:run")

    @property
    def left(self) -> bool:
        """Still there in a way that costs money or must be cleaned (not ended)."""
        return self.state not in ENDED_STATES

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.state})"


@dataclass(frozen=True)
class TaggedArn:
    """What the tagging API lists: an ARN and its tags."""

    arn: str
    tags: Mapping[str, str]

    @property
    def kind(self) -> str:
        """``instance``, ``volume``, ``security-group``, ``parameter``, ..."""
        resource = self.arn.split(":", 5)[-1]
        return resource.split("/", 1)[0]

    @property
    def resource_id(self) -> str:
        resource = self.arn.split(":", 5)[-1]
        if resource.startswith("parameter/"):
            return resource[len("parameter") :]
        return resource.split("/", 1)[-1]


@dataclass(frozen=True)
class Image:
    """An AMI resolved from an id, an SSM parameter or a name pattern."""

    id: str
    name: str
    root_device_name: str


@dataclass(frozen=True)
class LaunchRequest:
    """Everything one ``RunInstances`` call needs."""

    run_id: str
    client_token: str
    image: Image
    instance_type: str
    user_data: str
    tags: Mapping[str, str]
    market: str = "on-demand"
    root_volume_gb: int = 100
    data_volume_gb: int = 0
    security_group_ids: Sequence[str] = ()
    subnet_id: str | None = None
    instance_profile: str | None = None
    key_name: str | None = None


class Launcher(Protocol):
    """Runs an instance's user data (EC2 does it on AWS; a local process in tests)."""

    def launch(self, instance_id: str) -> None:
        """Start executing the user data of ``instance_id`` (returns at once)."""
        ...


class Provider(Protocol):
    """The cloud calls a run makes. Every method is safe to repeat."""

    region: str

    def identity(self) -> str:
        """The caller's ARN (the ``ferry:owner`` tag)."""
        ...

    def resolve_image(self, ami: str, owners: Sequence[str]) -> Image: ...

    def default_security_groups(self) -> list[str]:
        """The egress-only group ``ferry runs setup`` made."""
        ...

    def create_ssh_group(self, run_id: str, cidr: str, tags: Mapping[str, str]) -> str: ...

    def put_secret(self, name: str, value: str, tags: Mapping[str, str]) -> None: ...

    def run_instance(self, request: LaunchRequest) -> str:
        """Create the instance (exactly once per client token); its id."""
        ...

    def resources(self, run_id: str | None = None) -> list[Resource]:
        """Every resource tagged ``ferry:run`` (= ``run_id`` when given), by describe calls."""
        ...

    def instances(self, ids: Sequence[str]) -> list[Resource]:
        """The instances with these ids (those not yet visible are left out)."""
        ...

    def terminate(self, ids: Sequence[str]) -> None: ...

    def delete(self, resource: Resource) -> None:
        """Delete a volume, security group, SSM parameter or spot request (absent is fine)."""
        ...

    def tagged(self, run_id: str | None = None) -> list[TaggedArn]:
        """What the tagging API lists with ``ferry:run`` (= ``run_id`` when given)."""
        ...

    def status_checks(self, instance_id: str) -> str:
        """``ok``, ``initializing``, ``impaired`` ... of the instance's status checks."""
        ...
