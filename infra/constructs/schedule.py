"""The EventBridge Scheduler schedule that starts a run, with a dead-letter queue for
starts that fail (the monitoring construct alarms on it)."""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import UpdaterConfig


def schedule_input(config: UpdaterConfig) -> dict[str, object]:
    """What every scheduled run receives: the execution input contract of the workflow."""
    return {"images": list(config.image_names), "dryRun": False}


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
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
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
            ),
        )
