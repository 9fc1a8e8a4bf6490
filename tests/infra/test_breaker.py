"""The circuit breaker as deployed: its function's exact permissions, the schedule it may
pause (named without a dependency cycle), and its place at the end of the workflow."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import STACK_NAME
from infra.constructs.schedule import NAME_MAX, schedule_name
from infra.workflow import states as names
from tests.infra.conftest import Synth, definition, stack_arn


def _join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def _scheduler_arn(resource: str) -> dict[str, Any]:
    """An EventBridge Scheduler ARN in this stack's partition, Region and account."""
    return _join("arn:", PARTITION, ":scheduler:", REGION, ":", ACCOUNT, resource)


PARTITION, REGION, ACCOUNT = (
    {"Ref": "AWS::Partition"},
    {"Ref": "AWS::Region"},
    {"Ref": "AWS::AccountId"},
)
SCHEDULE_NAME = f"{STACK_NAME}-schedule"


def _only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = template.find_resources(resource_type).items()
    return logical_id, resource


def _breaker(template: Template) -> dict[str, Any]:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "image_updater.handlers.breaker.handler"}},
    )
    ((_, function),) = functions.items()
    return function


def _statements(template: Template, role: str) -> list[dict[str, Any]]:
    """The role's statements, in order, each statement's actions sorted."""
    found: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return [
        {**s, "Action": sorted(s["Action"])} if isinstance(s["Action"], list) else s for s in found
    ]


def test_the_breaker_holds_exactly_what_it_calls_on_exactly_its_resources(
    template: Template,
) -> None:
    # Given the synthesized stack
    function = _breaker(template)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    table, _ = _only(template, "AWS::DynamoDB::GlobalTable")
    schedule_role = _only(template, "AWS::Scheduler::Schedule")[1]["Properties"]["Target"][
        "RoleArn"
    ]

    # When its role's statements are read / Then they are these, and only these
    assert _statements(template, role) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
        },
        {
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Effect": "Allow",
            "Resource": "*",
        },
        # the breaker's one ledger item (its partition only): count, claim, read back, reset
        {
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [table, "Arn"]},
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["#breaker"]}},
        },
        # this stack's schedule only
        {
            "Action": ["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
            "Effect": "Allow",
            "Resource": _scheduler_arn(f":schedule/default/{SCHEDULE_NAME}"),
        },
        # UpdateSchedule sends the schedule's role again: that role, to Scheduler only
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": schedule_role,
        },
        # "Schedule Paused", under the updater's own source, on the default bus
        {
            "Action": "events:PutEvents",
            "Condition": {"StringEquals": {"events:source": "appstream-image-updater"}},
            "Effect": "Allow",
            "Resource": stack_arn("events", "event-bus/default"),
        },
    ]
    # and it is told the schedule, the table and the limit
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["SCHEDULE_NAME"] == SCHEDULE_NAME
    assert variables["SCHEDULE_GROUP"] == "default"
    assert variables["LEDGER_TABLE"] == {"Ref": table}
    assert variables["MAX_CONSECUTIVE_FAILED_RUNS"] == "3"


def test_with_the_breaker_off_its_function_may_do_nothing_but_log(synth: Synth) -> None:
    # Given maxConsecutiveFailedRuns=0
    template = synth(maxConsecutiveFailedRuns="0")
    function = _breaker(template)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]

    # Then its role only logs and traces, and it is told nothing to act on
    actions = {
        action
        for statement in _statements(template, role)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["MAX_CONSECUTIVE_FAILED_RUNS"] == "0"
    assert not {"LEDGER_TABLE", "SCHEDULE_NAME", "SCHEDULE_GROUP"} & set(variables)


def test_the_schedule_is_named_after_the_stack_and_runs_as_its_own_role(
    template: Template,
) -> None:
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    properties = schedule["Properties"]
    assert properties["Name"] == SCHEDULE_NAME
    assert "GroupName" not in properties  # the default group
    role_id = properties["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = template.to_json()["Resources"][role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": ACCOUNT,
                    "aws:SourceArn": _scheduler_arn(":schedule-group/default"),
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    # The role starts this state machine and writes to the dead-letter queue, nothing else
    assert sorted(s["Action"] for s in _statements(template, role_id)) == [
        "sqs:SendMessage",
        "states:StartExecution",
    ]


_SCHEDULER_NAME = re.compile(r"[0-9a-zA-Z_.-]{1,64}")


@pytest.mark.parametrize(
    "stack",
    ["AppStreamImageUpdater", "A", "Updater-" + "x" * 47, "Updater-" + "x" * 120 + "A"],
)
def test_schedule_names_follow_schedulers_rules_for_any_stack_name(stack: str) -> None:
    name = schedule_name(stack)
    assert _SCHEDULER_NAME.fullmatch(name)
    assert len(name) <= NAME_MAX
    assert name.endswith("-schedule")


def test_long_stack_names_that_share_a_beginning_get_different_schedules() -> None:
    first, second = schedule_name("U" * 100 + "-eu"), schedule_name("U" * 100 + "-us")
    assert first != second
    assert len(first) == len(second) == NAME_MAX
    assert schedule_name("U" * 100 + "-eu") == first  # the same on every synth


def test_the_breaker_comes_after_summarize_and_never_decides_the_runs_result(
    template: Template,
) -> None:
    states = definition(template)["States"]
    # Summarize -> record -> paused? -> (e-mail | left as it was) -> roll-outs -> last choice
    assert states[names.SUMMARIZE]["Next"] == names.RECORD_THE_RUN
    record = states[names.RECORD_THE_RUN]
    assert record["Next"] == names.SCHEDULE_PAUSED
    assert record["Parameters"]["Payload"] == {
        "executionArn.$": "$$.Execution.Id",
        "startedBy.$": "$.startedBy",
        "dryRun.$": "$.dryRun",
        "anyFailed.$": "$.anyFailed",
        # "could not check" neither counts nor resets (update/messages/could_not_check.py)
        "anyUnchecked.$": "$.anyUnchecked",
    }
    assert record["ResultPath"] == "$.breaker"
    # every error of the breaker is caught, kept aside, and the run goes on to its own result
    assert record["Catch"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.breakerError",
            "Next": names.BREAKER_FAILED,
        }
    ]
    choice = states[names.SCHEDULE_PAUSED]
    assert choice["Choices"] == [
        {"Variable": "$.breaker.paused", "BooleanEquals": True, "Next": names.SEND_THE_PAUSE_EMAIL}
    ]
    assert choice["Default"] == names.SCHEDULE_LEFT_AS_IT_WAS
    send = states[names.SEND_THE_PAUSE_EMAIL]
    assert send["Resource"].endswith(":states:::sns:publish")
    assert send["Parameters"]["Subject.$"] == "$.breaker.notification.subject"
    assert send["Parameters"]["Message.$"] == "$.breaker.notification.body"
    assert send["Catch"][0]["Next"] == names.PAUSE_EMAIL_NOT_SENT
    for ending in (
        names.SEND_THE_PAUSE_EMAIL,
        names.PAUSE_EMAIL_NOT_SENT,
        names.SCHEDULE_LEFT_AS_IT_WAS,
        names.BREAKER_FAILED,
    ):
        # the roll-outs follow (they never count toward the breaker), then the run's result
        assert states[ending]["Next"] == names.ROLL_OUT_EACH_IMAGE, ending
    assert states[names.ROLL_OUT_EACH_IMAGE]["Next"] == names.LIST_ROLLOUT_FAILURES
    assert states[names.LIST_ROLLOUT_FAILURES]["Next"] == names.SUMMARIZE_THE_ROLLOUTS
    assert states[names.SUMMARIZE_THE_ROLLOUTS]["Next"] == names.DID_EVERY_IMAGE_SUCCEED
    # and the summary it reads still carries who started the run
    for name in (names.LIST_FAILURES, names.SUMMARIZE):
        parameters = states[name]["Parameters"]
        assert parameters["startedBy.$"] == "$.startedBy"
        assert parameters["dryRun.$"] == "$.dryRun"
