"""Alarms that reach the team through the same topic, for failures outside the workflow's
own e-mails: executions that fail, time out or are aborted, and schedules that could not
start a run."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        dead_letter_queue: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        unsuccessful = cloudwatch.MathExpression(
            expression="failed + timedOut + aborted",
            using_metrics={
                "failed": state_machine.metric_failed(period=_PERIOD, statistic="Sum"),
                "timedOut": state_machine.metric_timed_out(period=_PERIOD, statistic="Sum"),
                "aborted": state_machine.metric_aborted(period=_PERIOD, statistic="Sum"),
            },
            label="Unsuccessful executions",
            period=_PERIOD,
        )
        self.execution_alarm = self._alarm_on_any(
            unsuccessful,
            "ExecutionsUnsuccessful",
            "An AppStream image updater run failed, timed out or was aborted. Image "
            "failures were e-mailed separately; open the state machine's executions.",
        )
        self.schedule_alarm = self._alarm_on_any(
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=_PERIOD, statistic="Maximum"
            ),
            "ScheduledStartsFailed",
            "EventBridge Scheduler could not start the AppStream image updater; the "
            "failed start is in the dead-letter queue with the reason.",
        )
        for alarm in (self.execution_alarm, self.schedule_alarm):
            alarm.add_alarm_action(actions.SnsAction(topic))

    def _alarm_on_any(
        self, metric: cloudwatch.IMetric, construct_id: str, description: str
    ) -> cloudwatch.Alarm:
        """Alarms as soon as the metric counts one; no data means nothing happened."""
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
