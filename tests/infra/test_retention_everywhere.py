"""Retention beyond the hub's Region in the synthesized templates: the spoke's reader role
(trusted only by the hub's retain role, read-only, the rollback partition only) and the hub's
grants (AssumeRole only on the configured accounts' reader roles, the deletions and unsharing
only on the lineages' tagged images)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from image_updater.domain import naming
from image_updater.retention.roles import SPOKE_LEDGER_TABLE
from image_updater.rollout.records import PARTITION as ROLLBACK_PARTITION
from infra.config import cdk_json_feature_flags
from rehearsal.template import template_json
from tests.infra.conftest import Synth
from tests.infra.test_distribution import DISTRIBUTING
from tests.infra.test_spoke_stack import HUB, SPOKE_CONTEXT


@pytest.fixture(scope="module")
def spoke() -> dict[str, Any]:
    return template_json({**cdk_json_feature_flags(), **SPOKE_CONTEXT})


def _resource(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    (found,) = [
        r
        for k, r in template["Resources"].items()
        if k.startswith(prefix) and not k[len(prefix) :].startswith("Default")
    ]
    return dict(found["Properties"])


def _text(value: Any) -> str:
    """A CloudFormation value as text, its pseudo parameters named (Ref AWS::Region -> <Region>)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return "<" + value["Ref"].split("::")[-1] + ">"
    return str(value)


def test_the_spoke_reader_role_is_trusted_only_by_the_hubs_retain_role(
    spoke: dict[str, Any],
) -> None:
    role = _resource(spoke, "HubReaderRole")
    assert _text(role["RoleName"]) == "AppStreamImageUpdaterHubReader-<Region>"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert _text(trust["Principal"]["AWS"]) == f"arn:<Partition>:iam::{HUB}:root"
    assert {
        k: {c: _text(v) for c, v in cond.items()} for k, cond in trust["Condition"].items()
    } == {
        "ArnLike": {
            "aws:PrincipalArn": f"arn:<Partition>:iam::{HUB}:role/AppStreamImageUpdaterHubRetain-*"
        }
    }


def test_the_spoke_reader_role_only_reads_fleets_builders_and_rollback_records(
    spoke: dict[str, Any],
) -> None:
    statements = _resource(spoke, "HubReaderRoleDefaultPolicy")["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"], s.get("Condition")) for s in statements] == [
        (["appstream:DescribeFleets", "appstream:DescribeImageBuilders"], "*", None),
        (
            ["dynamodb:GetItem", "dynamodb:Query"],
            {
                "Fn::GetAtt": [
                    next(k for k in spoke["Resources"] if k.startswith("LedgerTable")),
                    "Arn",
                ]
            },
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [ROLLBACK_PARTITION]}},
        ),
    ]
    # and the ledger has the fixed name the hub reads it by
    assert _resource(spoke, "LedgerTable")["TableName"] == SPOKE_LEDGER_TABLE


def _retain_statements(template: Template) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if k.startswith("FunctionsRetainRoleDefaultPolicy")
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _with(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [
        s
        for s in statements
        if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]


def test_the_hub_assumes_only_the_configured_accounts_reader_roles(synth: Synth) -> None:
    template = synth(**DISTRIBUTING)
    (assume,) = _with(_retain_statements(template), "sts:AssumeRole")
    reader = "arn:<Partition>:iam::%s:role/AppStreamImageUpdaterHubReader-%s"
    # 111122223333 in every Region (home and both copies); 444455556666 in eu-west-1 only
    assert sorted(_text(r) for r in assume["Resource"]) == sorted(
        [
            reader % ("111122223333", "<Region>"),
            reader % ("111122223333", "ap-northeast-1"),
            reader % ("111122223333", "eu-west-1"),
            reader % ("444455556666", "eu-west-1"),
        ]
    )
    (role,) = [
        r
        for k, r in template.find_resources("AWS::IAM::Role").items()
        if k.startswith("FunctionsRetainRole")
    ]
    assert _text(role["Properties"]["RoleName"]) == "AppStreamImageUpdaterHubRetain-<Region>"


def test_unsharing_and_deleting_copies_only_on_the_lineages_tagged_images(synth: Synth) -> None:
    statements = _retain_statements(synth(**DISTRIBUTING))
    unshare = _with(statements, "appstream:DeleteImagePermissions")
    assert unshare
    for statement in unshare:
        (root,) = statement["Condition"]["StringEquals"].values()
        assert statement["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/{naming.LINEAGE_ROOT_TAG}": root}
        }
        regions = sorted(_text(r).split(":")[3] for r in statement["Resource"])
        assert regions == ["<Region>", "ap-northeast-1", "eu-west-1"]
        assert all(
            _text(r).endswith(f":image/{naming.lineage_prefix(root)}*")
            for r in statement["Resource"]
        )
    copies = [
        _text(r)
        for s in _with(statements, "appstream:DeleteImage")
        for r in s["Resource"]
        if isinstance(s["Resource"], list)
    ]
    assert any(":appstream:eu-west-1:" in r for r in copies)
    assert all(s.get("Condition") for s in _with(statements, "appstream:DeleteImage"))


def test_without_shares_the_hub_assumes_nothing(synth: Synth) -> None:
    statements = _retain_statements(synth(copyToRegions="eu-west-1"))
    assert _with(statements, "sts:AssumeRole") == []
    assert _with(statements, "appstream:DeleteImagePermissions") == []
    assert json.dumps(statements).count("eu-west-1") >= 1
