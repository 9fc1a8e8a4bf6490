"""Who may publish the updater's EventBridge events: create and report, on the default bus,
under the updater's source only."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from image_updater.events import SOURCE
from tests.infra.conftest import stack_arn
from tests.infra.test_stack import _policies_by_role

DEFAULT_BUS = stack_arn("events", "event-bus/default")
PUT_EVENTS = {
    "Action": "events:PutEvents",
    "Effect": "Allow",
    "Resource": DEFAULT_BUS,
    "Condition": {"StringEquals": {"events:source": "appstream-image-updater"}},
}
PUBLISHERS = {"create", "report"}
# Steps that never publish. Others (the breaker's pause, retention) may be granted the same
# statement with `grant_put_events`.
NEVER_PUBLISH = {"plan", "check", "poll"}


def _step_of_role(template: Template) -> dict[str, str]:
    """Role logical id -> the step its function runs (create, report, ...)."""
    steps = {}
    for function in template.find_resources("AWS::Lambda::Function").values():
        properties = function["Properties"]
        steps[properties["Role"]["Fn::GetAtt"][0]] = properties["Handler"].split(".")[-2]
    return steps


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _mentions_events(statement: dict[str, Any]) -> bool:
    return any(a.startswith("events:") for a in _actions(statement))


def test_create_and_report_may_publish_only_the_updaters_events_on_the_default_bus(
    template: Template,
) -> None:
    # Given the synthesized stack
    statements = _policies_by_role(template)
    steps = _step_of_role(template)

    # When the EventBridge statements of each function's role are collected
    publishing = {
        steps[role]: [s for s in found if _mentions_events(s)]
        for role, found in statements.items()
        if role in steps
    }

    # Then create and report hold exactly one: PutEvents, default bus, the updater's source
    assert SOURCE == "appstream-image-updater"
    for step in PUBLISHERS:
        assert publishing[step] == [PUT_EVENTS], step
    # and the steps that never publish hold no EventBridge permission at all
    for step in NEVER_PUBLISH:
        assert publishing[step] == [], step


def _allows_put_events(statement: dict[str, Any]) -> bool:
    return bool({"events:PutEvents", "events:*", "*"} & set(_actions(statement)))


def test_whoever_may_put_events_may_only_put_the_updaters_on_the_default_bus(
    template: Template,
) -> None:
    # Given every identity policy of the stack (functions, state machine, schedule)
    statements = _policies_by_role(template)
    steps = _step_of_role(template)

    # When the statements that allow PutEvents are collected
    found = [
        (steps.get(role, role), statement)
        for role, role_statements in statements.items()
        for statement in role_statements
        if _allows_put_events(statement)
    ]

    # Then each is the one scoped statement, held once by each role that has it, and by the
    # publishers among them; the state machine and the schedule have none
    holders = [step for step, _ in found]
    assert all(statement == PUT_EVENTS for _, statement in found), found
    assert len(holders) == len(set(holders)), holders
    assert set(holders) >= PUBLISHERS, holders
    assert set(holders) <= set(steps.values()), holders
