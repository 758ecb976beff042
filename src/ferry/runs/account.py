"""``ferry runs setup``: what a run needs once per account and region, made idempotently.

- an egress-only security group (no inbound rule at all: S3 is the message bus);
- an instance role and profile whose S3 rights cover only the workspace prefix, whose SSM
  rights cover only ``/ferry/runs/*``, and whose ``ec2:TerminateInstances`` is limited to
  the instance itself, and only while it carries a ``ferry:run`` tag;
- and, printed, the minimal policy for the dev user who runs ``ferry run``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ferry.aws import AwsOptions, botocore_errors, error_code, translate
from ferry.runs.ec2 import SETUP_GROUP
from ferry.storage.names import parse_s3_url

__all__ = ["ROLE", "apply_setup", "dev_user_policy", "instance_policy", "setup_plan"]

ROLE = "ferry-runs"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "ec2.amazonaws.com"},
        }
    ],
}


def _s3(prefixes: list[str]) -> list[dict[str, Any]]:
    buckets = sorted({parse_s3_url(p)[0] for p in prefixes})
    keys = [
        f"arn:aws:s3:::{b}/{k}/*" if k else f"arn:aws:s3:::{b}/*"
        for b, k in map(parse_s3_url, prefixes)
    ]
    listed = [f"{parse_s3_url(p)[1]}/*" if parse_s3_url(p)[1] else "*" for p in prefixes]
    return [
        {
            "Sid": "WorkspaceObjects",
            "Effect": "Allow",
            "Resource": keys,
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
        },
        {
            "Sid": "WorkspaceListing",
            "Effect": "Allow",
            "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
            "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
            "Condition": {
                "StringLike": {"s3:prefix": listed + [p[:-2] for p in listed if p != "*"]}
            },
        },
    ]


def instance_policy(prefixes: list[str]) -> dict[str, Any]:
    """The instance role's policy: the workspace prefix, the run's secrets, itself."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_s3(prefixes),
            {
                "Sid": "RunSecrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                "Resource": "arn:aws:ssm:*:*:parameter/ferry/runs/*",
            },
            {
                # A fallback for an image whose shutdown(8) does not power off: the
                # instance may terminate itself (the target's ARN is the caller's) and
                # only while it carries a ferry:run tag. Nothing else in EC2.
                "Sid": "EndItself",
                "Effect": "Allow",
                "Action": "ec2:TerminateInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {
                    "StringEquals": {"aws:ARN": "${ec2:SourceInstanceARN}"},
                    "StringLike": {"ec2:ResourceTag/ferry:run": "?*"},
                },
            },
        ],
    }


def dev_user_policy(prefixes: list[str]) -> dict[str, Any]:
    """What the dev user needs for ``ferry run``, ``runs``, ``sweep`` (and ``runs setup``)."""
    tagged = {"StringLike": {"aws:ResourceTag/ferry:run": "?*"}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_s3(prefixes),
            {
                "Sid": "Look",
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceAttribute",
                    "ec2:DescribeImages",
                    "ec2:DescribeVolumes",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotInstanceRequests",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "tag:GetResources",
                    "sts:GetCallerIdentity",
                    "ssm:GetParametersByPath",
                ],
            },
            {
                "Sid": "Launch",
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ec2:RunInstances",
                    "ec2:CreateSecurityGroup",
                    "ec2:AuthorizeSecurityGroupIngress",
                ],
            },
            {
                "Sid": "TagOnlyAtCreation",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"ec2:CreateAction": ["RunInstances", "CreateSecurityGroup"]}
                },
            },
            {
                "Sid": "DestroyOnlyRuns",
                "Effect": "Allow",
                "Resource": "*",
                "Condition": tagged,
                "Action": [
                    "ec2:TerminateInstances",
                    "ec2:DeleteVolume",
                    "ec2:DeleteSecurityGroup",
                    "ec2:CancelSpotInstanceRequests",
                ],
            },
            {
                "Sid": "RunSecrets",
                "Effect": "Allow",
                "Resource": "arn:aws:ssm:*:*:parameter/ferry/runs/*",
                "Action": ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource"],
            },
            {
                "Sid": "PublicAmiParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": "arn:aws:ssm:*::parameter/aws/service/*",
            },
            {
                "Sid": "PassTheRunRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:aws:iam::*:role/{ROLE}",
            },
            {
                "Sid": "SetupOnce",
                "Effect": "Allow",
                "Resource": [
                    f"arn:aws:iam::*:role/{ROLE}",
                    f"arn:aws:iam::*:instance-profile/{ROLE}",
                ],
                "Action": [
                    "iam:GetRole",
                    "iam:CreateRole",
                    "iam:PutRolePolicy",
                    "iam:GetInstanceProfile",
                    "iam:CreateInstanceProfile",
                    "iam:AddRoleToInstanceProfile",
                ],
            },
        ],
    }


def setup_plan(prefixes: list[str]) -> dict[str, Any]:
    """What ``ferry runs setup`` makes (its ``--dry-run`` output)."""
    return {
        "security_group": {
            "name": SETUP_GROUP,
            "vpc": "the default VPC",
            "ingress": [],
            "egress": [{"protocol": "all", "cidr": "0.0.0.0/0"}],
        },
        "role": {"name": ROLE, "trust": TRUST, "inline_policy": instance_policy(prefixes)},
        "instance_profile": {"name": ROLE, "role": ROLE},
        "dev_user_policy": dev_user_policy(prefixes),
    }


def _idempotent(
    call: Callable[[], Any], exists: tuple[str, ...], doing: str, aws: AwsOptions
) -> bool:
    """Run ``call``; False when it failed only because the thing already exists."""
    try:
        call()
        return True
    except botocore_errors() as exc:
        if error_code(exc) in exists:
            return False
        raise translate(
            exc, service="IAM/EC2", doing=doing, endpoint=aws.describe_endpoint("iam")
        ) from exc


def _ask(call: Callable[[], Any], doing: str, aws: AwsOptions) -> Any:
    """``call()``'s answer, its errors translated."""
    try:
        return call()
    except botocore_errors() as exc:
        raise translate(
            exc, service="IAM/EC2", doing=doing, endpoint=aws.describe_endpoint("iam")
        ) from exc


def apply_setup(aws: AwsOptions, prefixes: list[str]) -> list[str]:
    """Make what :func:`setup_plan` describes; what was created (empty when all existed)."""
    session = aws.session()
    iam, ec2 = aws.client("iam", session=session), aws.client("ec2", session=session)
    made = []
    if _idempotent(
        lambda: iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST)),
        ("EntityAlreadyExists",),
        "creating the run role",
        aws,
    ):
        made.append(f"role {ROLE}")
    _idempotent(
        lambda: iam.put_role_policy(
            RoleName=ROLE,
            PolicyName="ferry-runs",
            PolicyDocument=json.dumps(instance_policy(prefixes)),
        ),
        (),
        "setting the role policy",
        aws,
    )
    if _idempotent(
        lambda: iam.create_instance_profile(InstanceProfileName=ROLE),
        ("EntityAlreadyExists",),
        "creating the instance profile",
        aws,
    ):
        made.append(f"instance profile {ROLE}")
    profile = _ask(
        lambda: iam.get_instance_profile(InstanceProfileName=ROLE), "reading the profile", aws
    )
    if not any(r["RoleName"] == ROLE for r in profile["InstanceProfile"]["Roles"]):
        _idempotent(
            lambda: iam.add_role_to_instance_profile(InstanceProfileName=ROLE, RoleName=ROLE),
            ("LimitExceeded",),  # the profile already holds a role
            "adding the role to its profile",
            aws,
        )
    if _security_group(ec2, aws):
        made.append(f"security group {SETUP_GROUP}")
    return made


def _security_group(ec2: Any, aws: AwsOptions) -> bool:
    """The egress-only group in the default VPC; whether it was made now."""
    existing = _ask(
        lambda: ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [SETUP_GROUP]}]
        ),
        "looking for the security group",
        aws,
    )
    if existing["SecurityGroups"]:
        return False
    vpcs = _ask(
        lambda: ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}]),
        "finding the default VPC",
        aws,
    )["Vpcs"]
    args = {"VpcId": vpcs[0]["VpcId"]} if vpcs else {}
    return _idempotent(
        lambda: ec2.create_security_group(
            GroupName=SETUP_GROUP, Description="ferry runs: no inbound, all outbound", **args
        ),
        ("InvalidGroup.Duplicate",),
        "creating the security group",
        aws,
    )
