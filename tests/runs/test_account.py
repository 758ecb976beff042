"""``ferry runs setup``: what it makes (against moto's IAM and EC2), that it is idempotent,
and that the policies give no more than a run needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.runs.conftest import aws_client, invoke

from ferry.devec2 import LocalEc2Server
from ferry.runs.account import ROLE, dev_user_policy, instance_policy
from ferry.runs.ec2 import SETUP_GROUP

pytestmark = pytest.mark.timeout(60)
PREFIX = "s3://team-bucket/ws"


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_instance_role_reaches_only_its_prefix_its_secrets_and_itself() -> None:
    allowed = statements(instance_policy([PREFIX]))
    assert set(allowed) == {"WorkspaceObjects", "WorkspaceListing", "RunSecrets", "EndItself"}
    assert allowed["WorkspaceObjects"]["Resource"] == ["arn:aws:s3:::team-bucket/ws/*"]
    assert allowed["WorkspaceListing"]["Condition"]["StringLike"]["s3:prefix"] == [
        "ws/*",
        "ws",
    ]
    assert allowed["RunSecrets"]["Resource"] == "arn:aws:ssm:*:*:parameter/ferry/runs/*"
    assert allowed["RunSecrets"]["Action"] == ["ssm:GetParameter", "ssm:GetParameters"]
    end = allowed["EndItself"]
    assert end["Action"] == "ec2:TerminateInstances"
    assert end["Condition"]["StringEquals"] == {"aws:ARN": "${ec2:SourceInstanceARN}"}
    assert end["Condition"]["StringLike"] == {"ec2:ResourceTag/ferry:run": "?*"}


def test_the_dev_user_destroys_only_what_runs_tagged() -> None:
    allowed = statements(dev_user_policy([PREFIX]))
    destroy = allowed["DestroyOnlyRuns"]
    assert destroy["Condition"] == {"StringLike": {"aws:ResourceTag/ferry:run": "?*"}}
    assert "ec2:TerminateInstances" in destroy["Action"]
    assert allowed["TagOnlyAtCreation"]["Condition"]["StringEquals"]["ec2:CreateAction"]
    assert allowed["PassTheRunRole"]["Resource"] == f"arn:aws:iam::*:role/{ROLE}"
    everything = json.dumps(dev_user_policy([PREFIX]))
    for never in ("ec2:AllocateAddress", "ec2:CreateKeyPair", "ec2:CreateNatGateway", '"*:*"'):
        assert never not in everything


def test_setup_makes_the_group_role_and_profile_and_is_idempotent(
    aws_env: dict[str, str], moto_server: LocalEc2Server, tmp_path: Path
) -> None:
    (tmp_path / "ferry.toml").write_text(f'[workspace]\nremote_root = "{PREFIX}"\n')
    dry = invoke(None, "runs", "setup", "--dry-run", cwd=tmp_path)
    plan = json.loads(dry.stdout)
    assert dry.exit_code == 0 and plan["security_group"]["ingress"] == []
    assert plan["role"]["inline_policy"] == instance_policy([PREFIX])

    first = invoke(None, "runs", "setup", cwd=tmp_path)
    again = invoke(None, "runs", "setup", cwd=tmp_path)
    assert first.exit_code == 0 and again.exit_code == 0, (first.output, again.output)
    assert again.stdout.startswith("everything already exists")
    assert '"DestroyOnlyRuns"' in again.stdout  # the dev user's policy is printed

    iam, ec2 = aws_client("iam", moto_server.url), aws_client("ec2", moto_server.url)
    stored = iam.get_role_policy(RoleName=ROLE, PolicyName="ferry-runs")["PolicyDocument"]
    assert stored == instance_policy([PREFIX])
    profile = iam.get_instance_profile(InstanceProfileName=ROLE)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [ROLE]
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [SETUP_GROUP]}]
    )["SecurityGroups"]
    assert group["IpPermissions"] == []  # no inbound rule at all
