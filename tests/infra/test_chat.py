"""The team's chat (infra/constructs/chat.py) on the template: a channel configuration for Slack
or Teams subscribed to the topic, its own read-only role and guardrail, the delivery path from
every publisher through the encrypted, TLS-only topic to the chat service, every e-mail step
publishing its chat form; and, with the chat keys unset, exactly main's template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.config import ConfigError, cdk_json_feature_flags, load_config
from infra.constructs.chat import CHAT_READ_ACTIONS, CHAT_SERVICE
from rehearsal.template import template_json
from tests.infra.conftest import CONTEXT, Synth, all_states, definition, hub_digest, resolve
from tests.infra.linters import cfn_lint, checkov, statelint, write_json
from tests.infra.test_spoke_stack import HUB_DIGESTS, SPOKE_CONTEXT
from tests.infra.test_stack import _only, _publishers, _resource_policy, _statements

SLACK = {"slackWorkspaceId": "T0123ABCD", "slackChannelId": "C0456EFGH"}
TEAMS = {
    "teamsTeamId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "teamsChannelId": "19%3a0123456789abcdef%40thread.tacv2",
    "teamsTenantId": "2c5f39cb-3fb2-22e3-994f-1127e4ddb538",
}
NO_CHAT = dict.fromkeys((*SLACK, *TEAMS), "")


@pytest.fixture(scope="module")
def slack(synth: Synth) -> Template:
    return synth(**SLACK)


@pytest.fixture(scope="module")
def teams(synth: Synth) -> Template:
    return synth(**TEAMS)


def test_with_the_chat_keys_unset_the_template_is_exactly_mains() -> None:
    # Given the chat keys at their defaults (empty), said explicitly / Then main's digests
    assert hub_digest(NO_CHAT) == HUB_DIGESTS["cdk.json"]
    assert hub_digest({**CONTEXT, **NO_CHAT}) == HUB_DIGESTS["infra tests"]


def test_without_chat_no_channel_and_every_message_is_the_plain_email(template: Template) -> None:
    assert not template.find_resources("AWS::Chatbot::SlackChannelConfiguration")
    assert not template.find_resources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration")
    for state in _publish_states(template).values():
        assert "MessageStructure" not in state["Parameters"]


def test_a_slack_channel_gets_the_topic_with_its_own_role_and_a_read_only_guardrail(
    slack: Template,
) -> None:
    topic = _only(slack, "AWS::SNS::Topic")
    role = _chat_role(slack)
    policy = _chat_policy(slack)
    slack.has_resource_properties(
        "AWS::Chatbot::SlackChannelConfiguration",
        {
            "SlackWorkspaceId": SLACK["slackWorkspaceId"],
            "SlackChannelId": SLACK["slackChannelId"],
            "SnsTopicArns": [{"Ref": topic}],
            "IamRoleArn": {"Fn::GetAtt": [role, "Arn"]},
            "GuardrailPolicies": [{"Ref": policy}],
            "UserRoleRequired": False,
            "LoggingLevel": "ERROR",
            "ConfigurationName": {
                "Fn::Join": ["", ["AppStreamImageUpdater-", {"Ref": "AWS::Region"}, "-slack"]]
            },
        },
    )
    assert not slack.find_resources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration")


def test_a_teams_channel_gets_the_topic_with_its_own_role_and_a_read_only_guardrail(
    teams: Template,
) -> None:
    teams.has_resource_properties(
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
        {
            "TeamId": TEAMS["teamsTeamId"],
            "TeamsChannelId": TEAMS["teamsChannelId"],
            "TeamsTenantId": TEAMS["teamsTenantId"],
            "SnsTopicArns": [{"Ref": _only(teams, "AWS::SNS::Topic")}],
            "IamRoleArn": {"Fn::GetAtt": [_chat_role(teams), "Arn"]},
            "GuardrailPolicies": [{"Ref": _chat_policy(teams)}],
            "UserRoleRequired": False,
        },
    )
    assert not teams.find_resources("AWS::Chatbot::SlackChannelConfiguration")


@pytest.mark.parametrize("channel", ["slack", "teams"])
def test_from_chat_nothing_can_be_done_but_read_cloudwatch(
    channel: str, request: pytest.FixtureRequest
) -> None:
    # Given the channel's role and guardrail
    template: Template = request.getfixturevalue(channel)
    role = template.find_resources("AWS::IAM::Role")[_chat_role(template)]
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()

    # Then the role is the chat service's alone, holds only the read-only policy (no inline
    # policy), and that policy only reads CloudWatch
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": CHAT_SERVICE}}
    ]
    assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": _chat_policy(template)}]
    assert "Policies" not in role["Properties"]
    for attached in template.find_resources("AWS::IAM::Policy").values():
        assert {"Ref": _chat_role(template)} not in attached["Properties"].get("Roles", [])
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and "Condition" not in statement
    assert sorted(statement["Action"]) == sorted(CHAT_READ_ACTIONS)
    verbs = {action.split(":")[1].rstrip("*") for action in statement["Action"]}
    assert {a.split(":")[0] for a in statement["Action"]} == {"cloudwatch"}
    assert verbs <= {"Describe", "Get", "List"}


@pytest.mark.parametrize("channel", ["slack", "teams"])
def test_the_delivery_path_from_every_publisher_to_the_chat_service(
    channel: str, request: pytest.FixtureRequest, template: Template
) -> None:
    # Given the template with a chat channel, and main's
    chat: Template = request.getfixturevalue(channel)
    topic, key = _only(chat, "AWS::SNS::Topic"), _only(chat, "AWS::KMS::Key")
    topic_policy = _statements(chat, "AWS::SNS::TopicPolicy", "PolicyDocument")
    key_policy = _statements(chat, "AWS::KMS::Key", "KeyPolicy")

    # Then the publishers are the ones without chat, let in by the same statements
    # (TestWhoMayPublish traces them), and chat adds no publisher
    assert (
        _publishers(chat, topic).keys()
        == _publishers(template, _only(template, "AWS::SNS::Topic")).keys()
    )
    # and the topic and key policies are exactly those without chat: the chat service reads
    # nothing encrypted (SNS decrypts a message before delivering it) and subscribes over TLS
    assert topic_policy == _statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument")
    assert key_policy == _statements(template, "AWS::KMS::Key", "KeyPolicy")
    assert CHAT_SERVICE not in json.dumps(topic_policy) + json.dumps(key_policy)
    # and no Deny stops the chat service's subscription (its channel configuration makes it,
    # over HTTPS): enforce_ssl's only Deny is a publish without TLS
    service = {"service": CHAT_SERVICE, "context": {"aws:SecureTransport": "true"}}
    for action in ("sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"):
        assert _resource_policy(topic_policy, "topic policy", service, (action,)) == (False, [])
    plain = {"service": CHAT_SERVICE, "context": {"aws:SecureTransport": "false"}}
    assert _resource_policy(topic_policy, "topic policy", plain, ("sns:Publish",))[0]
    (deny,) = [s for s in topic_policy if s["Effect"] == "Deny"]
    assert (deny["Action"], deny["Condition"]) == (
        "sns:Publish",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    # and the key stays the stack's own, with rotation
    chat.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
    )


@pytest.mark.parametrize("distributing", [False, True], ids=["one-region", "distributing"])
def test_every_email_step_publishes_the_email_and_its_chat_form(
    distributing: bool, slack: Template, synth: Synth
) -> None:
    # Given every sns:publish state of the workflow with chat (and the distributed e-mail's)
    template = synth(**SLACK, copyToRegions="eu-west-1") if distributing else slack
    publishing = _publish_states(template)
    assert len(publishing) >= 8, sorted(publishing)
    assert ("Send the distributed e-mail" in publishing) is distributing

    # Then each sends a form per protocol: the e-mail for email, the chat form for https and
    # everything else
    for name, state in publishing.items():
        parameters = state["Parameters"]
        assert parameters["MessageStructure"] == "json", name
        message = parameters["Message"]
        assert set(message) == {"default.$", "email.$", "https.$"}, name
        assert message["https.$"] == message["default.$"], name
        assert message["email.$"] != message["default.$"], name


def test_the_report_functions_are_asked_for_the_chat_form_and_their_answer_kept(
    slack: Template,
) -> None:
    states = all_states(definition(slack)["States"])
    writers = {
        name: state
        for name, state in states.items()
        if state.get("Type") == "Task"
        and ":lambda:invoke" in state["Resource"]
        and re.search(r"Report|Breaker", json.dumps(state["Parameters"]["FunctionName"]))
    }
    assert len(writers) >= 4, sorted(writers)
    for name, state in writers.items():
        assert state["Parameters"]["Payload"]["chat"] is True, name
        if "ResultSelector" in state and "subject.$" in state["ResultSelector"]:
            assert state["ResultSelector"]["chat.$"] == "$.Payload.chat", name


def test_a_fallback_message_gets_its_chat_form_from_the_state_machine(slack: Template) -> None:
    # Given the fallback e-mail (written by the state machine when the report cannot be)
    states = all_states(definition(slack)["States"])
    (form,) = [
        s
        for n, s in states.items()
        if n.startswith("Write the chat form of: Send the fallback e-mail") and "(" not in n
    ]

    # Then its chat form is built from the same text, and sent as JSON text
    assert form["Type"] == "Pass"
    assert form["Parameters"]["version"] == "1.0" and form["Parameters"]["source"] == "custom"
    assert form["Parameters"]["content"]["description.$"].startswith("States.Format(")
    send = states[form["Next"]]
    assert send["Parameters"]["Message"]["default.$"] == "States.JsonToString($.chatForm)"
    assert (
        send["Parameters"]["Message"]["email.$"] == form["Parameters"]["content"]["description.$"]
    )


def test_a_spoke_gets_its_chat_channel_too(synth: Synth) -> None:
    spoke = Template.from_json(
        template_json({**cdk_json_feature_flags(), **SPOKE_CONTEXT, **SLACK})
    )
    spoke.resource_count_is("AWS::Chatbot::SlackChannelConfiguration", 1)
    for state in _publish_states(spoke).values():
        assert state["Parameters"]["MessageStructure"] == "json"


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        (
            {"slackWorkspaceId": "T0123ABCD"},
            "slackWorkspaceId, slackChannelId: set all of them or none (slackChannelId is empty)",
        ),
        (
            {"slackChannelId": "C0456"},
            "slackWorkspaceId, slackChannelId: set all of them or none (slackWorkspaceId is empty)",
        ),
        (
            {"teamsTeamId": TEAMS["teamsTeamId"]},
            "teamsTeamId, teamsChannelId, teamsTenantId: set all of them or none "
            "(teamsChannelId, teamsTenantId are empty)",
        ),
        (
            {**SLACK, "slackWorkspaceId": "t0123abcd"},
            "slackWorkspaceId: 't0123abcd' must be a Slack workspace ID: capitals and digits",
        ),
        (
            {**TEAMS, "teamsChannelId": "19:abc@thread.tacv2"},
            "teamsChannelId: '19:abc@thread.tacv2' must be a Microsoft Teams channel ID",
        ),
    ],
)
def test_a_channel_named_in_part_or_wrongly_stops_the_synth_naming_the_key(
    context: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"imageNames": "ImgA", **context})
    assert problem in str(raised.value)


def _publish_states(template: Template) -> dict[str, Any]:
    """Every sns:publish state of every state machine (with distribution, each image's
    distribution is a state machine of its own)."""
    return {
        name: state
        for machine in template.find_resources("AWS::StepFunctions::StateMachine").values()
        for name, state in all_states(
            json.loads(resolve(machine["Properties"]["DefinitionString"]))["States"]
        ).items()
        if state.get("Type") == "Task" and state["Resource"].endswith(":states:::sns:publish")
    }


def _chat_role(template: Template) -> str:
    (role,) = [
        logical_id
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if CHAT_SERVICE in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    return role


def _chat_policy(template: Template) -> str:
    return _only(template, "AWS::IAM::ManagedPolicy")


def test_with_both_channels_the_linters_pass(synth: Synth, tmp_path: Path) -> None:
    # Given the template and definition with a Slack and a Teams channel
    template = synth(**SLACK, **TEAMS)
    template_file = write_json(template.to_json(), tmp_path / "AppStreamImageUpdater.template.json")
    definition_file = write_json(definition(template), tmp_path / "definition.json")

    # Then cfn-lint, statelint and checkov find nothing
    for result in (cfn_lint(template_file), statelint(definition_file), checkov(template_file)):
        assert result.returncode == 0, result.output
