"""The SNS topic that e-mails the team, encrypted with a key of the account's own."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.arns import alarm_arns


class Notifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the AppStream image updater's notification topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # enforce_ssl writes a topic policy holding only its Deny, which replaces SNS's
        # default policy: a publisher is let in by its identity policy (principals of the
        # account, like the state machine's role) or by a statement added here.
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="AppStream image updates",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def allow_alarms_to_publish(self, alarm_names: Sequence[str]) -> None:
        """CloudWatch publishes an alarm's notification as the service itself, so neither
        an identity policy nor the key policy's account statement covers it: the topic
        policy must allow sns:Publish and the key policy the key, each only on behalf of
        this account's alarms named here (aws:SourceAccount, aws:SourceArn): no other
        alarm, of this account or another, gets through."""
        if not alarm_names:
            raise ValueError("no alarm to let publish")
        stack = Stack.of(self)
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        on_behalf_of_these_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": alarm_arns(stack, alarm_names)},
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToPublish",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=on_behalf_of_these_alarms,
            )
        )
        # SNS encrypts what the alarm publishes with a data key it asks KMS for on the
        # alarm's behalf (kms:GenerateDataKey, kms:Decrypt).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToUseTheKey",
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions=on_behalf_of_these_alarms,
            )
        )
