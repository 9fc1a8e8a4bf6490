"""The team's chat: an Amazon Q Developer in chat applications (formerly AWS Chatbot) channel
configuration for a Slack or a Microsoft Teams channel, subscribed to the notification topic.
Only when its keys are set (`slackWorkspaceId` + `slackChannelId`, or `teamsTeamId` +
`teamsChannelId` + `teamsTenantId`); unset, the stack holds nothing of it.

What reaches the channel: every message of the topic. The workflow publishes each e-mail with
its chat form (a custom notification: infra/workflow/emails.py); the alarms publish CloudWatch's
own alarm JSON, which the chat service renders natively.

The delivery path, end to end (tests/infra/test_chat.py checks it on the template):
- publishers: the state machine's role (sns:Publish on the topic and the key's data keys, from
  its identity policy; the key policy lets the account's principals use their IAM policies) and
  CloudWatch for this stack's alarms (Notifications.allow_alarms_to_publish);
- the topic is encrypted at rest with the stack's KMS key: SNS decrypts each message before it
  delivers it, so a subscriber reads plain text over TLS and needs no kms permission; the chat
  service therefore needs nothing in the key policy;
- the topic policy (enforce_ssl) only denies requests without TLS: the chat service subscribes
  and is delivered to over HTTPS (its subscription's protocol is `https`), so nothing stops it,
  and nothing is added to the policy for it.

What the channel can do in AWS: read CloudWatch, nothing else. Its role (assumed by
chatbot.amazonaws.com) holds one customer managed policy, the read-only permissions AWS's
"Notification permissions" template gives a channel (cloudwatch:Describe*, Get*, List*: what
rendering an alarm's notification reads); the same policy is the channel's guardrail, the most
any role used from the channel may do, so no command typed in the channel can change anything
(the default guardrail would be AdministratorAccess). Channel members use the channel role (no
user roles).
"""

from __future__ import annotations

from typing import TypedDict

from aws_cdk import Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import UpdaterConfig
from infra.findings import acknowledge

CHAT_SERVICE = "chatbot.amazonaws.com"
# AWS's "Notification permissions" policy template for a chat channel's role.
CHAT_READ_ACTIONS = ("cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*")
LOGGING_LEVEL = chatbot.LoggingLevel.ERROR  # the chat service's own log of failed deliveries


class _Delivery(TypedDict):
    """How a channel is delivered to (topic, role, guardrail, logging, no user roles) in a
    channel configuration's L1 properties: what the Slack L2 renders from the same topic, role
    and guardrail, so that the Teams L1 gets the Slack channel's."""

    sns_topic_arns: list[str]
    iam_role_arn: str
    guardrail_policies: list[str]
    logging_level: str
    user_role_required: bool


class ChatChannel(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: UpdaterConfig, topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        self.read_only = iam.ManagedPolicy(
            self,
            "ReadOnly",
            description="What the AppStream image updater's chat channel may do: read CloudWatch",
            statements=[iam.PolicyStatement(actions=list(CHAT_READ_ACTIONS), resources=["*"])],
        )
        reason = (
            "cloudwatch:Describe*, Get* and List* only read (they take no resource narrower "
            "than *): AWS's notification permissions template for a chat channel's role, and "
            "the channel's guardrail"
        )
        for finding in (*(f"Action::{action}" for action in CHAT_READ_ACTIONS), "Resource::*"):
            acknowledge(self.read_only, f"AwsSolutions-IAM5[{finding}]", reason)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(CHAT_SERVICE),
            description="The AppStream image updater's chat channel: reads CloudWatch only",
            managed_policies=[self.read_only],
        )
        # Channel configuration names are unique in the account (the chat service is
        # global): the stack's name and Region tell this deployment's apart.
        stack = Stack.of(self)
        name = f"{stack.stack_name}-{stack.region}"
        if config.slack_channel_id:
            chatbot.SlackChannelConfiguration(
                self,
                "Slack",
                notification_topics=[topic],
                role=self.role,
                guardrail_policies=[self.read_only],
                logging_level=LOGGING_LEVEL,
                user_role_required=False,
                slack_channel_configuration_name=f"{name}-slack",
                slack_workspace_id=config.slack_workspace_id,
                slack_channel_id=config.slack_channel_id,
            )
        if config.teams_channel_id:
            # aws-cdk-lib has no L2 for Teams: the L1, delivered to as the Slack L2 is.
            chatbot.CfnMicrosoftTeamsChannelConfiguration(
                self,
                "Teams",
                **self._delivery(topic),
                configuration_name=f"{name}-teams",
                team_id=config.teams_team_id,
                teams_channel_id=config.teams_channel_id,
                teams_tenant_id=config.teams_tenant_id,
            )

    def _delivery(self, topic: sns.ITopic) -> _Delivery:
        return _Delivery(
            sns_topic_arns=[topic.topic_arn],
            iam_role_arn=self.role.role_arn,
            guardrail_policies=[self.read_only.managed_policy_arn],
            logging_level=LOGGING_LEVEL.value,
            user_role_required=False,
        )


def connect_chat(scope: Construct, config: UpdaterConfig, topic: sns.ITopic) -> ChatChannel | None:
    """The chat channel, when the configuration names one."""
    if not config.chat_configured:
        return None
    return ChatChannel(scope, "Chat", config=config, topic=topic)
