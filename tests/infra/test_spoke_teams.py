"""`organization.spokeTeams`: the StackSet gives each team's OUs its e-mails and approvers as
parameter overrides, the other OUs keep the top-level values (the StackSet's own), and in the
spokes' template the same parameters make the subscriptions, the approval URL's resource
policy and the list the approval function checks: an empty slot lets nobody in. A standalone
spoke's template stays main's, byte for byte."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from image_updater.approval.identity import matching_approver
from image_updater.handlers import approval_url
from infra.config import cdk_json_feature_flags, load_config
from infra.config.spoke_teams import APPROVER_SLOTS, EMAIL_SLOTS
from infra.organization.spoke_template import SpokeTemplate
from infra.organization.stack_set import instance_groups
from rehearsal.template import template_json
from tests.infra.linters import cfn_lint, checkov
from tests.infra.stack_set_template import SLOTS, at_parameter_values
from tests.infra.test_organization import ORG_CONTEXT, ORGANIZATION, Organization
from tests.infra.test_spoke_stack import HUB, SPOKE_CONTEXT

DEFAULT_OU, PROD_OU, TEST_OU = (*ORGANIZATION["spokeOrganizationalUnitIds"], "ou-ab12-77776666")
PROD_APPROVER = "arn:aws:iam::555566667777:role/ProdApprovers"
TOP_EMAILS = ("ops@example.com", "euc-team@example.com")  # SPOKE_CONTEXT's
TOP_APPROVERS = ("arn:aws:iam::444455556666:role/Approvers",)
TEAMS = [
    {
        "organizationalUnitIds": [PROD_OU],
        "notificationEmails": ["prod@example.com", "prod-oncall@example.com"],
        "approvers": [PROD_APPROVER],
    },
    {"organizationalUnitIds": [TEST_OU], "notificationEmails": ["test@example.com"]},
]
# The standalone spoke's template (SPOKE_CONTEXT, Lambda asset hashes masked) as main
# synthesized it before spokeTeams: the StackSet's parameters must not reach it.
STANDALONE_SPOKE_DIGEST = "98127ad79bdcdd6ae2c5c6b3e3006bde02f626c3f822d31d42d1e5177b037707"


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Organization:
    units = [*ORGANIZATION["spokeOrganizationalUnitIds"], TEST_OU]
    context = {
        **ORG_CONTEXT,
        "organization": {**ORGANIZATION, "spokeOrganizationalUnitIds": units, "spokeTeams": TEAMS},
    }
    return Organization(tmp_path_factory.mktemp("teams.out"), context)


def slots(prefix: str, values: tuple[str, ...], count: int) -> dict[str, str]:
    padded = [*values, *[""] * (count - len(values))]
    return {f"{prefix}{slot}": value for slot, value in enumerate(padded, start=1)}


def emails(*values: str) -> dict[str, str]:
    return slots("NotificationEmail", values, EMAIL_SLOTS)


def approvers(*values: str) -> dict[str, str]:
    return slots("Approver", values, APPROVER_SLOTS)


def _pairs(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def test_each_teams_ous_get_its_values_and_the_other_ous_the_stack_sets(
    organization: Organization,
) -> None:
    properties = organization.stack_set["Properties"]
    # Given the StackSet's own values: the top-level lists, in their slots (the defaults)
    assert properties["Parameters"] == _pairs({**emails(*TOP_EMAILS), **approvers(*TOP_APPROVERS)})
    defaults = {
        name: parameter["Default"]
        for name, parameter in organization.spoke_template["Parameters"].items()
        if name in SLOTS
    }
    assert defaults == {**emails(*TOP_EMAILS), **approvers(*TOP_APPROVERS)}
    # Then each OU is in exactly one group: the OU no team names without overrides, each
    # team's with every slot of the lists it sets (approvers left out: the StackSet's stay)
    targets = {"Accounts": [HUB], "AccountFilterType": "DIFFERENCE"}
    regions = ORGANIZATION["spokeRegions"]
    prod = {**emails("prod@example.com", "prod-oncall@example.com"), **approvers(PROD_APPROVER)}
    assert properties["StackInstancesGroup"] == [
        {
            "DeploymentTargets": {"OrganizationalUnitIds": [DEFAULT_OU], **targets},
            "Regions": regions,
        },
        {
            "DeploymentTargets": {"OrganizationalUnitIds": [PROD_OU], **targets},
            "Regions": regions,
            "ParameterOverrides": _pairs(prod),
        },
        {
            "DeploymentTargets": {"OrganizationalUnitIds": [TEST_OU], **targets},
            "Regions": regions,
            "ParameterOverrides": _pairs(emails("test@example.com")),
        },
    ]


def test_named_accounts_narrow_every_teams_ous_too(organization: Organization) -> None:
    # Given spokeAccountIds and a team (the groups computed from the synthesized template)
    raw = {
        **ORGANIZATION,
        "spokeAccountIds": ["444455556666"],
        "spokeTeams": [{"organizationalUnitIds": [PROD_OU], "approvers": [PROD_APPROVER]}],
    }
    narrowed = load_config({"imageNames": "ImgA", "organization": raw}).organization
    assert narrowed is not None
    groups = instance_groups(narrowed, SpokeTemplate(organization.spoke_template, ()))
    # Then every group, the team's too, targets only those accounts of its OUs
    targets = [group.deployment_targets for group in groups]
    assert [t.organizational_unit_ids for t in targets] == [[DEFAULT_OU], [PROD_OU]]
    assert {(tuple(t.accounts), t.account_filter_type) for t in targets} == {
        (("444455556666",), "INTERSECTION")
    }
    assert groups[0].parameter_overrides is None
    assert {(p.parameter_key, p.parameter_value) for p in groups[1].parameter_overrides} == set(
        approvers(PROD_APPROVER).items()
    )


def _deployed(organization: Organization, values: dict[str, str]) -> dict[str, Any]:
    return at_parameter_values(organization.spoke_template, values)["Resources"]


def _subscribed(resources: dict[str, Any]) -> set[str]:
    found = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::SNS::Subscription":
            assert resource["Properties"]["Protocol"] == "email"
            assert resource["Properties"]["TopicArn"] == {"Ref": _topic(resources)}
            found.add(resource["Properties"]["Endpoint"])
    return found


def _topic(resources: dict[str, Any]) -> str:
    (topic,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    return topic


def test_each_set_email_slot_and_no_other_subscribes_to_the_topic(
    organization: Organization,
) -> None:
    # At the defaults: the top-level addresses; with the prod team's values: only theirs
    assert _subscribed(_deployed(organization, {})) == set(TOP_EMAILS)
    prod = emails("prod@example.com", "prod-oncall@example.com")
    assert _subscribed(_deployed(organization, prod)) == {
        "prod@example.com",
        "prod-oncall@example.com",
    }
    assert _subscribed(_deployed(organization, emails())) == set()
    # And the template has one conditional subscription per slot, reading its parameter
    template = organization.spoke_template
    subscriptions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert sorted(r["Properties"]["Endpoint"]["Ref"] for r in subscriptions) == sorted(emails())
    for subscription in subscriptions:
        slot = subscription["Properties"]["Endpoint"]["Ref"]
        assert template["Conditions"][subscription["Condition"]] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": slot}, ""]}]
        }


def _approval_function(resources: dict[str, Any]) -> str:
    (logical_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and "APPROVERS" in r["Properties"]["Environment"]["Variables"]
    ]
    return logical_id


def _admitted(resources: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(principal, action, how) of each permission on the approval function."""
    function = {"Fn::GetAtt": [_approval_function(resources), "Arn"]}
    found = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Permission":
            properties = resource["Properties"]
            assert properties["FunctionName"] == function
            how = properties.get("FunctionUrlAuthType") or properties["InvokedViaFunctionUrl"]
            found.add((properties["Principal"], properties["Action"], str(how)))
    return found


def _admits(principal: str) -> set[tuple[str, str, str]]:
    return {
        (principal, "lambda:InvokeFunctionUrl", "AWS_IAM"),
        (principal, "lambda:InvokeFunction", "True"),
    }


def test_the_url_admits_and_the_function_accepts_exactly_the_slots_approvers(
    organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = organization.spoke_template
    prod_session = "arn:aws:sts::555566667777:assumed-role/ProdApprovers/alice"
    top_session = "arn:aws:sts::444455556666:assumed-role/Approvers/bob"
    # At the defaults: the top-level approver, in the resource policy and in the list
    deployed = _deployed(organization, {})
    assert _admitted(deployed) == _admits(TOP_APPROVERS[0])
    # With the prod team's values: only theirs, both where AWS checks and where the code does
    deployed = _deployed(organization, approvers(PROD_APPROVER))
    assert _admitted(deployed) == _admits(PROD_APPROVER)
    function = deployed[_approval_function(deployed)]["Properties"]
    assert function["Environment"]["Variables"]["APPROVERS"] == json.dumps([PROD_APPROVER])
    # With every slot empty: no permission at all, and a list that matches nobody
    deployed = _deployed(organization, approvers())
    assert _admitted(deployed) == set()
    # (the variable as deployed, empty slots included: at_parameter_values drops them)
    raw = _raw_approvers(template, approvers())
    assert raw == json.dumps([""] * APPROVER_SLOTS, separators=(",", ":"))
    monkeypatch.setenv("APPROVERS", raw)
    checked = approval_url.approvers()
    for caller in (prod_session, top_session, "", "arn:aws:iam::555566667777:user/x"):
        assert matching_approver(caller, checked) is None, caller
    # And one set slot among empty ones: that approver only
    monkeypatch.setenv("APPROVERS", _raw_approvers(template, approvers(PROD_APPROVER)))
    checked = approval_url.approvers()
    assert matching_approver(prod_session, checked) == PROD_APPROVER
    assert matching_approver(top_session, checked) is None


def _raw_approvers(template: dict[str, Any], values: dict[str, str]) -> str:
    """The APPROVERS variable CloudFormation writes with `values`, every slot in it."""
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "APPROVERS" in r["Properties"]["Environment"]["Variables"]
    ]

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if set(value) == {"Ref"}:
            return values[value["Ref"]]
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part) for part in parts)

    return resolve(function["Properties"]["Environment"]["Variables"]["APPROVERS"])


def test_the_slots_refuse_what_the_keys_refuse(organization: Organization) -> None:
    parameters = organization.spoke_template["Parameters"]
    email = re.compile(parameters["NotificationEmail1"]["AllowedPattern"])
    approver = re.compile(parameters["Approver1"]["AllowedPattern"])
    for good in ("", "prod@example.com"):
        assert email.fullmatch(good)
    for bad in ("prod", "a@b", "prod@example.com,x@example.com"):
        assert not email.fullmatch(bad), bad
    for good in ("", PROD_APPROVER, "arn:aws:iam::555566667777:user/team/alice"):
        assert approver.fullmatch(good)
    for bad in ("*", "arn:aws:iam::5555:role/X", 'arn:aws:iam::555566667777:role/a"/X', " "):
        assert not approver.fullmatch(bad), bad


def test_a_standalone_spoke_is_mains_byte_for_byte() -> None:
    template = template_json({**cdk_json_feature_flags(), **SPOKE_CONTEXT})
    text = json.dumps(template, sort_keys=True)
    masked = re.sub(r"[0-9a-f]{64}", "<asset>", text)
    assert hashlib.sha256(masked.encode()).hexdigest() == STANDALONE_SPOKE_DIGEST
    assert "Parameters" not in template or not set(template["Parameters"]) & set(SLOTS)


def test_cfn_lint_and_checkov_pass_on_the_stack_set_with_teams(
    organization: Organization,
) -> None:
    path = Path(organization.artifacts()["Spokes/StackSet"].template_full_path)
    lint = cfn_lint(path)
    assert lint.returncode == 0, lint.output
    found = checkov(path)
    assert found.returncode == 0, found.output
