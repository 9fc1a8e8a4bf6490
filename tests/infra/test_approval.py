"""The approval in the template, traced end to end: who may call what, and which policy
allows it. Only the approvers may call the approval function (its URL's resource policy);
only the approval function may answer a task (states:SendTaskSuccess, which has no
resource-level permissions, so "*"); the workflow accepts only what it recorded."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from app import build_app
from infra.config import ConfigError, cdk_json_feature_flags
from infra.workflow import states as names
from rehearsal.template import UNSTAGED
from tests.infra.conftest import (
    ATTENDED,
    CONTEXT,
    UNATTENDED,
    Synth,
    actions_of,
    all_states,
    definition,
    resources_of,
)
from tests.infra.test_stack import _actions, _policies_by_role, _role_of

ROLE = "arn:aws:iam::111122223333:role/ImageApprovers"
USER = "arn:aws:iam::111122223333:user/alice"
NAMED = {**ATTENDED, "approvers": f"{ROLE},{USER}"}


def _function_id(template: Template, module: str) -> str:
    (logical_id,) = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": f"image_updater.handlers.{module}.handler"}},
    )
    return logical_id


def test_the_wait_discards_the_answer_and_only_the_ledgers_record_decides(synth: Synth) -> None:
    states = all_states(definition(synth(**NAMED))["States"])
    # The clock starts once, at approvalTimeoutHours
    clock = states[names.START_THE_APPROVAL_CLOCK]
    assert clock["Result"] == {"waitSeconds": 48 * 3600, "ignored": 0}
    assert clock["ResultPath"] == "$.approval" and clock["Next"] == names.WAIT_FOR_APPROVAL
    wait = states[names.WAIT_FOR_APPROVAL]
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"] == {"taskToken.$": "$$.Task.Token", "task.$": "$"}
    # every wait (again after an ignored answer) ends at the original deadline
    assert wait["TimeoutSecondsPath"] == "$.approval.waitSeconds"
    assert "TimeoutSeconds" not in wait
    # the answer's content is discarded: nothing a caller writes reaches the state
    assert wait["ResultPath"] is None
    # an answer, the deadline, or any failure goes to the verify step (a SendTaskFailure by
    # the token may name any error; verify tells the wait step's own failure from it)
    assert wait["Next"] == names.VERIFY_THE_APPROVAL
    assert [(c["ErrorEquals"], c["Next"]) for c in wait["Catch"]] == [
        (["States.ALL"], names.VERIFY_THE_APPROVAL),
    ]
    assert states[names.VERIFY_THE_APPROVAL]["Next"] == names.APPROVED
    approved = states[names.APPROVED]
    decided = {"Variable": "$.approval.decision", "IsPresent": True}
    assert approved["Choices"] == [
        {
            "And": [decided, {"Variable": "$.approval.decision", "StringEquals": "APPROVED"}],
            "Next": names.FIND_THE_WINDOW,
        },
        {**decided, "Next": names.ROLLOUT_REJECTED},
        {
            "Variable": "$.approval.waitSeconds",
            "NumericGreaterThan": 0,
            "Next": names.WRITE_THE_IGNORED_ANSWER_EMAIL,
        },
    ]
    assert approved["Default"] == names.APPROVAL_TIMED_OUT
    # an ignored answer is e-mailed, then the roll-out waits again
    assert states[names.SEND_THE_IGNORED_ANSWER_EMAIL]["Next"] == names.WAIT_FOR_APPROVAL


def test_the_url_is_iam_authenticated_and_admits_exactly_the_approvers(synth: Synth) -> None:
    template = synth(**NAMED)
    approval = _function_id(template, "approval_url")
    target = {"Fn::GetAtt": [approval, "Arn"]}
    (url,) = template.find_resources("AWS::Lambda::Url").values()
    assert url["Properties"] == {"AuthType": "AWS_IAM", "TargetFunctionArn": target}
    # Its resource policy: for each approver, both actions a function URL needs (since
    # October 2025), each only through the IAM-authenticated URL; nobody else
    grants = sorted(
        (
            p["Properties"]["Principal"],
            p["Properties"]["Action"],
            p["Properties"].get("FunctionUrlAuthType"),
            p["Properties"].get("InvokedViaFunctionUrl"),
        )
        for p in template.find_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == target
    )
    assert grants == sorted(
        (approver, action, auth, via)
        for approver in (ROLE, USER)
        for action, auth, via in (
            ("lambda:InvokeFunctionUrl", "AWS_IAM", None),
            ("lambda:InvokeFunction", None, True),
        )
    )
    # and the function checks the same list again itself
    functions = template.find_resources("AWS::Lambda::Function")
    variables = functions[approval]["Properties"]["Environment"]["Variables"]
    assert variables["APPROVERS"] == f'["{ROLE}", "{USER}"]'
    # the commands find it in the stack's output
    url_id = next(iter(template.find_resources("AWS::Lambda::Url")))
    output = template.to_json()["Outputs"]["ApprovalUrl"]["Value"]
    assert output == {"Fn::GetAtt": [url_id, "FunctionUrl"]}


def test_who_may_call_what_and_which_policy_allows_it(synth: Synth) -> None:
    template = synth(**NAMED)
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable")
    table_arn = {"Fn::GetAtt": [table, "Arn"]}
    approval = _function_id(template, "approval_url")
    roles = {
        _role_of(template, module): module
        for module in ("approval_url", "rollout_approval", "rollout_verify")
    }
    machine_role = next(
        iter(
            template.find_resources(
                "AWS::IAM::Role",
                {
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Statement": [
                                Match.object_like(
                                    {"Principal": {"Service": "states.amazonaws.com"}}
                                )
                            ]
                        }
                    }
                },
            )
        )
    )
    # Every grant in the stack that touches the approval: (who, action, on what)
    trace: set[tuple[str, str, str]] = set()
    for role, statements in _policies_by_role(template).items():
        for statement in statements:
            for action in actions_of(statement):
                for resource in resources_of(statement):
                    touches_table = resource == table_arn and role in roles
                    if action == "states:SendTaskSuccess" or touches_table:
                        trace.add((roles.get(role, role), action, str(resource)))
                    if role == machine_role and action == "lambda:InvokeFunction":
                        assert approval not in str(resource), "the workflow invokes the approval"
    for permission in template.find_resources("AWS::Lambda::Permission").values():
        properties = permission["Properties"]
        if properties["FunctionName"] == {"Fn::GetAtt": [approval, "Arn"]}:
            trace.add((properties["Principal"], properties["Action"], "approval function"))
    table = str(table_arn)
    assert trace == {
        # identity policies (the functions' roles)
        ("approval_url", "states:SendTaskSuccess", "*"),  # no resource-level permissions
        ("approval_url", "dynamodb:GetItem", table),
        ("approval_url", "dynamodb:UpdateItem", table),
        ("rollout_approval", "dynamodb:UpdateItem", table),
        ("rollout_verify", "dynamodb:GetItem", table),
        # the function's resource policy
        (ROLE, "lambda:InvokeFunctionUrl", "approval function"),
        (ROLE, "lambda:InvokeFunction", "approval function"),
        (USER, "lambda:InvokeFunctionUrl", "approval function"),
        (USER, "lambda:InvokeFunction", "approval function"),
    }
    # each of those ledger grants reaches the approvals' partition only: none of the three can
    # write a rollback record (a rollback target) or a report
    for role in roles:
        for statement in _policies_by_role(template)[role]:
            if any(a.startswith("dynamodb:") for a in actions_of(statement)):
                assert statement["Condition"] == {
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["#approval"]}
                }
    # and the state machine's role only invokes the wait and verify functions it runs
    machine_actions = _actions(_policies_by_role(template)[machine_role])
    assert "states:SendTaskSuccess" not in machine_actions
    # Its one ledger write is the final report's "sent" mark, which changes only an item this
    # run claimed (status CLAIMED, claimer itself): never an approval's record.
    assert {a for a in machine_actions if a.startswith("dynamodb:")} == {"dynamodb:UpdateItem"}
    writes = [
        state
        for state in all_states(definition(template)["States"]).values()
        if str(state.get("Resource", "")).endswith(":states:::dynamodb:updateItem")
    ]
    assert writes
    assert {w["Parameters"]["ConditionExpression"] for w in writes} == {
        "#status = :claimed AND claimer = :me"
    }


def test_with_nobody_named_nobody_may_call_it_and_the_synth_warns(synth: Synth) -> None:
    template = synth(**ATTENDED)
    approval = _function_id(template, "approval_url")
    assert not [
        p
        for p in template.find_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [approval, "Arn"]}
    ]
    app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, **CONTEXT, **ATTENDED})
    warnings = Annotations.from_stack(build_app(app)).find_warning(
        "*", Match.string_like_regexp("approvers is empty")
    )
    assert warnings


def test_without_approval_there_is_no_url_and_no_verify_step(synth: Synth) -> None:
    template = synth(**UNATTENDED, approvers=ROLE)
    assert template.find_resources("AWS::Lambda::Url") == {}
    assert "ApprovalUrl" not in template.to_json()["Outputs"]
    states = all_states(definition(template)["States"])
    assert names.VERIFY_THE_APPROVAL not in states


def test_logging_execution_data_with_approvals_is_refused_at_synth() -> None:
    app = cdk.App(
        context={
            **cdk_json_feature_flags(),
            **UNSTAGED,
            **CONTEXT,
            "logExecutionData": "true",
            "approvers": ROLE,
        }
    )
    with pytest.raises(ConfigError, match="logExecutionData, requireApproval"):
        build_app(app)
