"""Synthesizes the stack in-process, with cdk.json's context, for the infra tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.config import cdk_json_feature_flags
from rehearsal.template import template_json

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CONTEXT = {
    "imageNames": "ImgA,ImgB",
    "notificationEmails": "ops@example.com,euc-team@example.com",
    "newImageTags": '{"CostCenter": "EUC"}',
    "scheduleExpression": "cron(30 2 ? * SUN *)",
    "scheduleTimezone": "Europe/Paris",
    "maxConcurrentUpdates": "3",
}

Synth = Callable[..., Template]


@pytest.fixture(scope="session")
def synth() -> Synth:
    cache: dict[str, Template] = {}

    def _synth(**overrides: Any) -> Template:
        context = {**CONTEXT, **overrides}
        key = json.dumps(context, sort_keys=True)
        if key not in cache:
            cache[key] = Template.from_json(template_json({**cdk_json_feature_flags(), **context}))
        return cache[key]

    return _synth


# Roll-out settings other than the defaults, in two synths the infra tests share (each
# configuration is synthesized once: rehearsal/synth_cache.py).
ATTENDED = {
    "approvalTimeoutHours": "48",
    "canaryAlarmNames": "Canary-Errors,Canary-Latency",
    "rolloutWindow": "cron(0 22 ? * SAT *)",
}
UNATTENDED = {"requireApproval": "false", "canarySoakHours": "0"}


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    return synth()


def resolve(value: Any) -> Any:
    """Turns a template's Fn::Join of a definition into text with placeholder ARNs."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part)) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{value['Fn::GetAtt'][0]}"
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": "us-east-1"}.get(
            value["Ref"], f"arn:aws:sns:us-east-1:123456789012:{value['Ref']}"
        )
    return value


def definition(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parsed: dict[str, Any] = json.loads(resolve(machine["Properties"]["DefinitionString"]))
    return parsed


def all_states(states: dict[str, Any]) -> dict[str, Any]:
    found = dict(states)
    for state in states.values():
        if "ItemProcessor" in state:
            found |= all_states(state["ItemProcessor"]["States"])
    return found
