"""The :class:`~ferry.runs.provider.Provider` on AWS: EC2, SSM, STS and the tagging API.

Lessons from peers, applied here:
- a create whose answer is lost is found again by its tag before anything is retried, and
  retried only with the same ``ClientToken`` (dstack #3453: orphans after a lost answer);
- every volume is encrypted and ``DeleteOnTermination`` (ray #28707), every resource is
  tagged *at creation* (``TagSpecifications``), never afterwards;
- an instance just created may not be visible yet: describe and terminate wait for it
  instead of concluding it does not exist.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ferry.aws import AwsOptions, botocore_errors, error_code, translate
from ferry.errors import ConfigError, FerryError, NotFoundError
from ferry.runs.layout import TAG_RUN, ssm_prefix
from ferry.runs.provider import Image, Launcher, LaunchRequest, Resource, TaggedArn

__all__ = ["SETUP_GROUP", "DependencyError", "Ec2Provider"]

T = TypeVar("T")
SETUP_GROUP = "ferry-runs-egress"
_LIVE_INSTANCE = ["pending", "running", "shutting-down", "stopping", "stopped", "terminated"]
_NOT_FOUND = (
    "InvalidInstanceID.NotFound",
    "InvalidVolume.NotFound",
    "InvalidGroup.NotFound",
    "ParameterNotFound",
    "InvalidSpotInstanceRequestID.NotFound",
)


class DependencyError(FerryError):
    """A resource cannot be deleted yet because another still uses it (retry later)."""


def _tags(items: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


class Ec2Provider:
    """EC2 through boto3, for one region.

    Args:
        aws: how to reach AWS (region, profile, per-service endpoints).
        launcher: what executes user data; None on AWS (EC2 does).
        visible_s: how long an instance just created may stay invisible to describe calls.
        poll_s: the pause between two polls.
    """

    def __init__(
        self,
        aws: AwsOptions,
        *,
        launcher: Launcher | None = None,
        visible_s: float = 60.0,
        poll_s: float = 1.0,
    ) -> None:
        self.aws = aws
        self.launcher = launcher
        self.visible_s = visible_s
        self.poll_s = poll_s
        session = aws.session()
        self.region = aws.region_for(session)
        self._ec2 = aws.client("ec2", session=session)
        # RunInstances is never retried by botocore: ferry looks for the instance first.
        self._ec2_once = aws.client("ec2", session=session, retries={"total_max_attempts": 1})
        self._ssm = aws.client("ssm", session=session)
        self._sts = aws.client("sts", session=session)
        self._tagging = aws.client("resourcegroupstaggingapi", session=session)

    # -- errors -------------------------------------------------------------------------
    def _call(self, service: str, doing: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except botocore_errors() as exc:
            raise self._error(exc, service, doing) from exc

    def _error(self, exc: BaseException, service: str, doing: str) -> FerryError:
        code = error_code(exc)
        if code in ("DependencyViolation", "VolumeInUse", "IncorrectState"):
            return DependencyError(f"{doing}: still in use ({code}).", "Retry after a while.")
        if code in _NOT_FOUND:
            return NotFoundError(f"{doing}: not found ({code}).", "Nothing to do.")
        if code in ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed"):
            return ConfigError(
                f"{doing}: the AMI does not exist here ({code}).", "Check [run] ami and region."
            )
        if code in (
            "InsufficientInstanceCapacity",
            "SpotMaxPriceTooLow",
            "MaxSpotInstanceCountExceeded",
            "InstanceLimitExceeded",
            "VcpuLimitExceeded",
        ):
            return FerryError(
                f"{doing}: AWS has no capacity or quota for it now ({code}).",
                "Try another instance type, region or market, or ask for a quota increase.",
            )
        if code == "NoSuchEntity":
            return ConfigError(
                f"{doing}: an IAM name does not exist ({code}).",
                "Run 'ferry runs setup' once for this account and region.",
            )
        return translate(
            exc, service=service, doing=doing, endpoint=self.aws.describe_endpoint(service.lower())
        )

    # -- identity, images, groups, secrets ----------------------------------------------
    def identity(self) -> str:
        answer = self._call("STS", "asking who you are", self._sts.get_caller_identity)
        return str(answer["Arn"])

    def resolve_image(self, ami: str, owners: Sequence[str]) -> Image:
        """An AMI from ``ami-...``, ``resolve:ssm:<parameter>`` or ``name:<pattern>``."""
        if ami.startswith("resolve:ssm:"):
            name = ami[len("resolve:ssm:") :]
            try:
                answer = self._ssm.get_parameter(Name=name)
            except botocore_errors() as exc:
                raise ConfigError(
                    f"The AMI parameter {name} could not be read in {self.region} "
                    f"({error_code(exc) or exc}).",
                    "Check [run] ami (public parameters start with /aws/service/) and region.",
                ) from exc
            return self._image(Filters=None, ImageIds=[answer["Parameter"]["Value"]])
        if ami.startswith("name:"):
            return self._image(Filters=[{"Name": "name", "Values": [ami[5:]]}], Owners=list(owners))
        if ami.startswith("ami-"):
            return self._image(Filters=None, ImageIds=[ami])
        raise ConfigError(
            f"[run] ami = {ami!r} is not understood.",
            "Use ami-..., resolve:ssm:/aws/service/... or name:<pattern>.",
        )

    def _image(self, **query: Any) -> Image:
        query = {k: v for k, v in query.items() if v is not None}
        images = self._call("EC2", "finding the AMI", lambda: self._ec2.describe_images(**query))[
            "Images"
        ]
        if not images:
            raise ConfigError(f"No AMI matches {query}.", "Check [run] ami, ami_owners and region.")
        best = max(images, key=lambda i: i.get("CreationDate", ""))
        return Image(
            best["ImageId"], best.get("Name", ""), best.get("RootDeviceName") or "/dev/sda1"
        )

    def default_security_groups(self) -> list[str]:
        filters = [{"Name": "group-name", "Values": [SETUP_GROUP]}]
        groups = self._call(
            "EC2",
            "finding ferry's security group",
            lambda: self._ec2.describe_security_groups(Filters=filters),
        )["SecurityGroups"]
        if not groups:
            raise ConfigError(
                f"The security group {SETUP_GROUP} does not exist in {self.region}.",
                "Run 'ferry runs setup' once for this account and region.",
            )
        return [groups[0]["GroupId"]]

    def create_ssh_group(self, run_id: str, cidr: str, tags: Mapping[str, str]) -> str:
        spec = [
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        ]
        group = self._call(
            "EC2",
            "creating the SSH security group",
            lambda: self._ec2.create_security_group(
                GroupName=f"ferry-ssh-{run_id}",
                Description=f"ferry run {run_id}: SSH in",
                TagSpecifications=spec,
            ),
        )
        group_id = str(group["GroupId"])
        perms = [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}
        ]
        self._call(
            "EC2",
            "opening SSH",
            lambda: self._ec2.authorize_security_group_ingress(
                GroupId=group_id, IpPermissions=perms
            ),
        )
        return group_id

    def put_secret(self, name: str, value: str, tags: Mapping[str, str]) -> None:
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._call(
            "SSM",
            f"storing the secret {name}",
            lambda: self._ssm.put_parameter(
                Name=name, Value=value, Type="SecureString", Tags=tag_list, Tier="Standard"
            ),
        )

    # -- instances ----------------------------------------------------------------------
    def run_instance(self, request: LaunchRequest) -> str:
        """Create the instance once: a lost answer is looked for by tag before a retry."""
        args = _run_args(request)
        for attempt in range(2):
            try:
                answer = self._ec2_once.run_instances(**args)
                instance_id = str(answer["Instances"][0]["InstanceId"])
                break
            except botocore_errors() as exc:
                if error_code(exc):  # EC2 answered: nothing was created
                    raise self._error(exc, "EC2", "launching the instance") from exc
                found = self._await_tagged(request.run_id)
                if found:
                    instance_id = found
                    break
                if attempt:
                    raise self._error(exc, "EC2", "launching the instance") from exc
        if self.launcher is not None:
            self._await_visible(instance_id)
            self.launcher.launch(instance_id)
        return instance_id

    def _await_tagged(self, run_id: str) -> str | None:
        deadline = time.monotonic() + self.visible_s
        while True:
            found = [r.id for r in self._instances_tagged(run_id) if r.left]
            if found or time.monotonic() >= deadline:
                return found[0] if found else None
            time.sleep(self.poll_s)

    def _await_visible(self, instance_id: str) -> None:
        deadline = time.monotonic() + self.visible_s
        while not self.instances([instance_id]) and time.monotonic() < deadline:
            time.sleep(self.poll_s)

    def instances(self, ids: Sequence[str]) -> list[Resource]:
        if not ids:
            return []
        try:
            pages = self._ec2.get_paginator("describe_instances").paginate(InstanceIds=list(ids))
            return [
                _instance(i) for page in pages for r in page["Reservations"] for i in r["Instances"]
            ]
        except botocore_errors() as exc:
            if error_code(exc) == "InvalidInstanceID.NotFound":
                return [r for i in ids for r in self._one_instance(i)]
            raise self._error(exc, "EC2", "describing instances") from exc

    def _one_instance(self, instance_id: str) -> list[Resource]:
        try:
            answer = self._ec2.describe_instances(InstanceIds=[instance_id])
        except botocore_errors() as exc:
            if error_code(exc) == "InvalidInstanceID.NotFound":
                return []
            raise self._error(exc, "EC2", f"describing {instance_id}") from exc
        return [_instance(i) for r in answer["Reservations"] for i in r["Instances"]]

    def terminate(self, ids: Sequence[str]) -> None:
        """Terminate, waiting out "not found" for instances created moments ago."""
        pending = list(ids)
        deadline = time.monotonic() + self.visible_s
        while pending:
            try:
                self._ec2.terminate_instances(InstanceIds=pending)
                return
            except botocore_errors() as exc:
                if error_code(exc) != "InvalidInstanceID.NotFound" or time.monotonic() > deadline:
                    raise self._error(exc, "EC2", f"terminating {', '.join(pending)}") from exc
                visible = {r.id for r in self.instances(pending)}
                if visible and visible != set(pending):
                    pending = [i for i in pending if i in visible] + [
                        i for i in pending if i not in visible
                    ]
                time.sleep(self.poll_s)

    def status_checks(self, instance_id: str) -> str:
        answer = self._call(
            "EC2",
            "reading status checks",
            lambda: self._ec2.describe_instance_status(
                InstanceIds=[instance_id], IncludeAllInstances=True
            ),
        )
        statuses = answer.get("InstanceStatuses") or [{}]
        system = statuses[0].get("SystemStatus", {}).get("Status", "unknown")
        instance = statuses[0].get("InstanceStatus", {}).get("Status", "unknown")
        return system if system == instance else f"system {system}, instance {instance}"

    # -- listing ------------------------------------------------------------------------
    def resources(self, run_id: str | None = None) -> list[Resource]:
        """Instances, volumes, security groups, spot requests and SSM parameters of runs."""
        return [
            *self._instances_tagged(run_id),
            *self._volumes(run_id),
            *self._groups(run_id),
            *self._spot_requests(run_id),
            *self._parameters(run_id),
        ]

    def _filters(self, run_id: str | None) -> list[dict[str, Any]]:
        if run_id is None:
            return [{"Name": "tag-key", "Values": [TAG_RUN]}]
        return [{"Name": f"tag:{TAG_RUN}", "Values": [run_id]}]

    def _pages(self, operation: str, key: str, doing: str, **args: Any) -> Iterator[dict[str, Any]]:
        try:
            for page in self._ec2.get_paginator(operation).paginate(**args):
                yield from page[key]
        except botocore_errors() as exc:
            raise self._error(exc, "EC2", doing) from exc

    def _instances_tagged(self, run_id: str | None) -> list[Resource]:
        filters = [
            *self._filters(run_id),
            {"Name": "instance-state-name", "Values": _LIVE_INSTANCE},
        ]
        reservations = self._pages(
            "describe_instances", "Reservations", "listing instances", Filters=filters
        )
        return [_instance(i) for r in reservations for i in r["Instances"]]

    def _volumes(self, run_id: str | None) -> list[Resource]:
        volumes = self._pages(
            "describe_volumes", "Volumes", "listing volumes", Filters=self._filters(run_id)
        )
        return [
            Resource(
                "volume",
                v["VolumeId"],
                v["State"],
                _tags(v.get("Tags")),
                size_gb=int(v.get("Size", 0)),
                launched=v.get("CreateTime"),
            )
            for v in volumes
        ]

    def _groups(self, run_id: str | None) -> list[Resource]:
        groups = self._pages(
            "describe_security_groups",
            "SecurityGroups",
            "listing security groups",
            Filters=self._filters(run_id),
        )
        return [
            Resource("security-group", g["GroupId"], "present", _tags(g.get("Tags")))
            for g in groups
        ]

    def _spot_requests(self, run_id: str | None) -> list[Resource]:
        requests = self._pages(
            "describe_spot_instance_requests",
            "SpotInstanceRequests",
            "listing spot requests",
            Filters=self._filters(run_id),
        )
        return [
            Resource("spot-request", s["SpotInstanceRequestId"], s["State"], _tags(s.get("Tags")))
            for s in requests
        ]

    def _parameters(self, run_id: str | None) -> list[Resource]:
        path = ssm_prefix(run_id) if run_id else "/ferry/runs/"
        found = []
        try:
            for page in self._ssm.get_paginator("get_parameters_by_path").paginate(
                Path=path, Recursive=True
            ):
                for p in page["Parameters"]:
                    owner = run_id or p["Name"][len("/ferry/runs/") :].split("/", 1)[0]
                    found.append(Resource("ssm-parameter", p["Name"], "present", {TAG_RUN: owner}))
        except botocore_errors() as exc:
            raise self._error(exc, "SSM", "listing run secrets") from exc
        return found

    def tagged(self, run_id: str | None = None) -> list[TaggedArn]:
        filters = [{"Key": TAG_RUN, **({"Values": [run_id]} if run_id else {})}]
        found = []
        try:
            for page in self._tagging.get_paginator("get_resources").paginate(TagFilters=filters):
                for item in page["ResourceTagMappingList"]:
                    found.append(TaggedArn(item["ResourceARN"], _tags(item.get("Tags"))))
        except botocore_errors() as exc:
            raise self._error(exc, "tagging API", "listing tagged resources") from exc
        return found

    # -- deleting -----------------------------------------------------------------------
    def delete(self, resource: Resource) -> None:
        calls: dict[str, Callable[[], Any]] = {
            "volume": lambda: self._ec2.delete_volume(VolumeId=resource.id),
            "security-group": lambda: self._ec2.delete_security_group(GroupId=resource.id),
            "ssm-parameter": lambda: self._ssm.delete_parameter(Name=resource.id),
            "spot-request": lambda: self._ec2.cancel_spot_instance_requests(
                SpotInstanceRequestIds=[resource.id]
            ),
        }
        service = "SSM" if resource.kind == "ssm-parameter" else "EC2"
        with contextlib.suppress(NotFoundError):
            self._call(service, f"deleting {resource}", calls[resource.kind])


def _instance(raw: Mapping[str, Any]) -> Resource:
    return Resource(
        "instance",
        raw["InstanceId"],
        raw["State"]["Name"],
        _tags(raw.get("Tags")),
        instance_type=raw.get("InstanceType", ""),
        launched=raw.get("LaunchTime"),
    )


def _run_args(request: LaunchRequest) -> dict[str, Any]:
    tags = [{"Key": k, "Value": v} for k, v in request.tags.items()]
    kinds = ["instance", "volume", "network-interface"]
    args: dict[str, Any] = {
        "ImageId": request.image.id,
        "InstanceType": request.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": request.client_token,
        "UserData": request.user_data,
        "InstanceInitiatedShutdownBehavior": "terminate",
        "BlockDeviceMappings": _disks(request),
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
    }
    if request.market == "spot":
        kinds.append("spot-instances-request")
        args["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {
                "SpotInstanceType": "one-time",
                "InstanceInterruptionBehavior": "terminate",
            },
        }
    args["TagSpecifications"] = [{"ResourceType": kind, "Tags": tags} for kind in kinds]
    if request.security_group_ids:
        args["SecurityGroupIds"] = list(request.security_group_ids)
    if request.subnet_id:
        args["SubnetId"] = request.subnet_id
    if request.instance_profile:
        args["IamInstanceProfile"] = {"Name": request.instance_profile}
    if request.key_name:
        args["KeyName"] = request.key_name
    return args


def _disks(request: LaunchRequest) -> list[dict[str, Any]]:
    def ebs(size: int) -> dict[str, Any]:
        return {
            "VolumeSize": size,
            "VolumeType": "gp3",
            "DeleteOnTermination": True,
            "Encrypted": True,
        }

    disks = [{"DeviceName": request.image.root_device_name, "Ebs": ebs(request.root_volume_gb)}]
    if request.data_volume_gb:
        disks.append({"DeviceName": "/dev/sdf", "Ebs": ebs(request.data_volume_gb)})
    return disks
