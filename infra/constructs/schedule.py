"""The EventBridge Scheduler schedule that starts a run, with a dead-letter queue for
starts that fail (the monitoring construct alarms on it).

The schedule has a name of its own, derived from the stack's: the breaker function pauses it
by name, and an ARN from the resource itself would make a cycle (state machine -> breaker
function -> schedule -> state machine). Its execution role is explicit too, so that the one
role the breaker may pass to Scheduler is named here.
"""

from __future__ import annotations

import hashlib

from aws_cdk import ArnFormat, Aws, Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from image_updater.domain.run_input import STARTED_BY_SCHEDULE
from image_updater.scheduler import DEFAULT_GROUP
from infra.config import UpdaterConfig

# EventBridge Scheduler: a schedule's name is 1 to 64 of [0-9a-zA-Z-_.]. Stack names are
# letters, digits and hyphens, up to 128: a long one is cut, and a hash of it keeps it unique.
NAME_MAX = 64
_NAME_SUFFIX = "-schedule"
_HASH_LENGTH = 8


def schedule_name(stack_name: str) -> str:
    """`<stack>-schedule`, within Scheduler's name rules whatever the stack's name."""
    name = stack_name + _NAME_SUFFIX
    if len(name) <= NAME_MAX:
        return name
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:_HASH_LENGTH]
    kept = NAME_MAX - len(_NAME_SUFFIX) - _HASH_LENGTH - 1
    return f"{stack_name[:kept]}-{digest}{_NAME_SUFFIX}"


def schedule_input(config: UpdaterConfig) -> dict[str, object]:
    """What every scheduled run receives: the execution input contract of the workflow. The
    `startedBy` marks the run as the schedule's, the only runs the breaker counts."""
    return {
        "images": list(config.image_names),
        "dryRun": False,
        "startedBy": STARTED_BY_SCHEDULE,
    }


class UpdateSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: UpdaterConfig,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = schedule_name(Stack.of(self).stack_name)
        self.group = DEFAULT_GROUP
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # Only Scheduler, for schedules of this account's group (as CDK's default role).
        self.role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler starts the AppStream image updater's runs",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="scheduler",
                            resource="schedule-group",
                            resource_name=self.group,
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        ),
                    }
                },
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=self.name,
            description="Starts the AppStream image updater",
            schedule=scheduler.ScheduleExpression.expression(
                config.schedule_expression, TimeZone.of(config.schedule_timezone)
            ),
            enabled=config.schedule_enabled,
            target=targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(schedule_input(config)),
                dead_letter_queue=self.dead_letter_queue,
                max_event_age=Duration.hours(2),
                retry_attempts=10,
                role=self.role,
            ),
        )

    @property
    def arn(self) -> str:
        return Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group}/{self.name}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_pause(self, function: lambda_.Function) -> None:
        """Read this schedule and change its state (GetSchedule, UpdateSchedule), on this
        schedule only. UpdateSchedule sends the schedule's execution role again, which needs
        iam:PassRole on that role, to Scheduler only."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
                resources=[self.arn],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        function.add_environment("SCHEDULE_NAME", self.name)
        function.add_environment("SCHEDULE_GROUP", self.group)
