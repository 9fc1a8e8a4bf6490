"""Log groups created explicitly, with the configured retention and a removal policy."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config.values import LOG_RETENTION_DAYS

# `RetentionDays` lists CloudWatch Logs' choices in the same order, then INFINITE.
RETENTION_BY_DAYS = dict(
    zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True)
)


def create(
    scope: Construct, construct_id: str, retention_days: int, *, name: str | None = None
) -> logs.LogGroup:
    # Removed with the stack: nothing in these logs is needed once the stack is gone, and a
    # retained group would make a later deploy of the same stack fail on the name.
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=RETENTION_BY_DAYS[retention_days],
        removal_policy=RemovalPolicy.DESTROY,
    )


# AWS's advice for Step Functions (and other vended) logs: a group under this prefix needs no
# entry in the account's CloudWatch Logs resource policy, which is capped at 5,120 characters
# and would otherwise grow with every state machine that logs.
VENDED_STATES_PREFIX = "/aws/vendedlogs/states/"


def workflow_log_group_name(stack_name: str) -> str:
    return f"{VENDED_STATES_PREFIX}{stack_name}-Workflow"
