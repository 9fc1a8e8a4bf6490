"""The roll-out in the template: who may change which fleets, the approval task, the alarms."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from image_updater.rollout.health_policy import DIP_RECHECK_MINUTES
from image_updater.rollout.models import FOLLOWS_TAG, PREVIOUS_IMAGE_TAG, ROLLED_OUT_TAG
from infra.workflow import states as names
from tests.infra.conftest import ATTENDED, UNATTENDED, Synth, all_states, definition
from tests.infra.test_stack import _actions, _policies_by_role, _role_of

ARN = "arn:aws:appstream:us-east-1:123456789012"


_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def _resolved(value: Any) -> Any:
    """A statement with its pseudo-parameters and joins written out."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolved(part)) for part in parts)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in _PSEUDO:
        return _PSEUDO[value["Ref"]]
    if isinstance(value, dict):
        return {key: _resolved(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    return value


def _statements_with(template: Template, action: str) -> dict[str, list[dict[str, Any]]]:
    """Role -> the statements that allow `action`, with their ARNs resolved."""
    found: dict[str, list[dict[str, Any]]] = {}
    for role, statements in _policies_by_role(template).items():
        for statement in statements:
            actions = statement["Action"]
            if action in ([actions] if isinstance(actions, str) else actions):
                found.setdefault(role, []).append(_resolved(statement))
    return found


def test_only_the_fleets_step_changes_fleets_and_only_tagged_ones(template: Template) -> None:
    # Given the default app (images ImgA and ImgB)
    fleets_role = _role_of(template, "rollout_fleets")

    # Then UpdateFleet is held by that one function: on fleets only when tagged with a
    # configured image, and on images (the one it goes to) of this account and AWS's public
    # base images only (empty account field), without a fleet in the statement
    updates = _statements_with(template, "appstream:UpdateFleet")
    assert list(updates) == [fleets_role]
    on_fleets, on_images = updates[fleets_role]
    assert on_fleets["Resource"] == f"{ARN}:fleet/*"
    assert on_fleets["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{FOLLOWS_TAG}": ["ImgA", "ImgB"]}
    }
    assert on_images == {
        "Action": "appstream:UpdateFleet",
        "Effect": "Allow",
        "Resource": [f"{ARN}:image/*", "arn:aws:appstream:us-east-1::image/*"],
    }
    assert "fleet" not in str(on_images["Resource"])


def test_images_shared_by_the_accounts_the_admin_names_may_be_put_on_fleets(
    synth: Synth,
) -> None:
    # Given the admin names two accounts whose shared images fleets may go back to
    template = synth(rollbackImageAccounts="111122223333,444455556666")

    # Then UpdateFleet's image resource adds exactly their images, and no other account's
    (_, on_images) = _statements_with(template, "appstream:UpdateFleet")[
        _role_of(template, "rollout_fleets")
    ]
    assert sorted(on_images["Resource"]) == [
        "arn:aws:appstream:us-east-1:111122223333:image/*",
        f"{ARN}:image/*",
        "arn:aws:appstream:us-east-1:444455556666:image/*",
        "arn:aws:appstream:us-east-1::image/*",
    ]


def test_the_rollback_record_is_the_only_tag_it_may_write(template: Template) -> None:
    fleets_role = _role_of(template, "rollout_fleets")
    for action in ("appstream:TagResource", "appstream:UntagResource"):
        statements = _statements_with(template, action)
        (statement,) = statements[fleets_role]
        assert statement["Resource"] == f"{ARN}:fleet/*"
        assert statement["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/{FOLLOWS_TAG}": ["ImgA", "ImgB"]},
            "ForAllValues:StringEquals": {"aws:TagKeys": [PREVIOUS_IMAGE_TAG, ROLLED_OUT_TAG]},
        }


def test_alarms_are_read_only_by_name_and_only_when_configured(
    template: Template, synth: Synth
) -> None:
    # Given no canaryAlarmNames (the default): no CloudWatch permission at all
    health_role = _role_of(template, "rollout_health")
    assert not any(
        a.startswith("cloudwatch:") for a in _actions(_policies_by_role(template)[health_role])
    )

    # When alarms are named
    named = synth(**ATTENDED)

    # Then the health check may describe exactly those
    (statement,) = _statements_with(named, "cloudwatch:DescribeAlarms")[
        _role_of(named, "rollout_health")
    ]
    assert statement["Resource"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:Canary-Errors",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:Canary-Latency",
    ]


def test_without_approval_or_soak_those_states_do_not_exist(synth: Synth) -> None:
    states = all_states(definition(synth(**UNATTENDED))["States"])
    assert names.WAIT_FOR_APPROVAL not in states
    assert names.SOAK_THE_CANARIES not in states
    assert states[names.CANARIES_HEALTHY]["Choices"][0]["Next"] == names.FIND_THE_WINDOW


def test_a_capacity_dip_is_checked_again_after_a_wait_and_superseded_is_no_failure(
    synth: Synth,
) -> None:
    states = all_states(definition(synth(**ATTENDED))["States"])
    healthy = states[names.CANARIES_HEALTHY]
    rules = {
        json.dumps({k: v for k, v in rule.items() if k != "Next"}, sort_keys=True): rule["Next"]
        for rule in healthy["Choices"]
    }
    assert rules[json.dumps({"BooleanEquals": True, "Variable": "$.healthy"}, sort_keys=True)] == (
        names.WRITE_THE_APPROVAL_REQUEST
    )
    superseded = json.dumps({"StringEquals": "SUPERSEDED", "Variable": "$.outcome"}, sort_keys=True)
    assert rules[superseded] != names.ROLL_BACK_THE_CANARIES
    recheck = json.dumps({"BooleanEquals": True, "Variable": "$.recheck"}, sort_keys=True)
    assert rules[recheck] == names.WAIT_TO_CHECK_AGAIN
    assert healthy["Default"] == names.ROLL_BACK_THE_CANARIES
    wait = states[names.WAIT_TO_CHECK_AGAIN]
    assert (wait["Type"], wait["Seconds"], wait["Next"]) == (
        "Wait",
        DIP_RECHECK_MINUTES * 60,
        names.CHECK_THE_CANARIES,
    )


def test_the_plan_knows_allow_untested_production(synth: Synth) -> None:
    # The plan decides whether production may go untested; the health check and the report
    # do not read the setting, so they are not given it (test_function_environment.py).
    template = synth(allowUntestedProduction="true")
    for module, given in (
        ("rollout_plan", True),
        ("rollout_health", False),
        ("rollout_report", False),
    ):
        (function,) = [
            f
            for f in template.find_resources("AWS::Lambda::Function").values()
            if f["Properties"]["Handler"] == f"image_updater.handlers.{module}.handler"
        ]
        variables = function["Properties"]["Environment"]["Variables"]
        assert (variables.get("ALLOW_UNTESTED_PRODUCTION") == "true") is given, module


def test_the_roll_outs_run_after_the_breaker_side_by_side(template: Template) -> None:
    states = definition(template)["States"]
    rollouts = states[names.ROLL_OUT_EACH_IMAGE]
    assert rollouts["Type"] == "Map"
    assert rollouts["ItemsPath"] == "$.results"
    # no MaxConcurrency: a roll-out waiting days for approval holds no one else up
    assert "MaxConcurrency" not in rollouts or rollouts["MaxConcurrency"] == 0
    assert rollouts["ResultPath"] == "$.rollouts"
