"""Alarms that reach the team through the same topic, for failures outside the workflow's
own e-mails: executions that fail, time out or are aborted, schedules that could not start a
run, and (with maxPatchAgeDays) patches older than that many days."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.notifications import Notifications
from infra.metrics import oldest_patches

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
        max_patch_age_days: int = 0,
    ) -> None:
        super().__init__(scope, construct_id)
        # Named after the stack, so the topic and key policies can let CloudWatch publish
        # for exactly these alarms (the aws:SourceArn of an alarm's publish holds its name).
        self._name_prefix = f"{Stack.of(self).stack_name}-"
        unsuccessful_terms = {
            "failed": state_machine.metric_failed(period=_PERIOD, statistic="Sum"),
            "timedOut": state_machine.metric_timed_out(period=_PERIOD, statistic="Sum"),
            "aborted": state_machine.metric_aborted(period=_PERIOD, statistic="Sum"),
        }
        # Step Functions publishes no data point for a count that stayed at zero, and a sum
        # with a missing term has no value: without FILL a period with one failure (and no
        # time-out, no abort) would add up to nothing and never alarm.
        unsuccessful = cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({term}, 0)" for term in unsuccessful_terms),
            using_metrics=dict(unsuccessful_terms),
            label="Unsuccessful executions",
            period=_PERIOD,
        )
        self.execution_alarm = self._alarm_on_any(
            unsuccessful,
            "ExecutionsUnsuccessful",
            "An AppStream image updater run failed, timed out or was aborted. Image "
            "failures were e-mailed separately; open the state machine's executions.",
        )
        # Counts the failed starts Scheduler sends to the queue in each period, not the
        # messages the queue holds: those stay for 14 days, so an alarm on the backlog
        # would stay in ALARM after the first failure and say nothing about the next ones.
        # Scheduler sends them with SendMessage, which this metric counts (SQS's own
        # redrives would not be). Scheduler's own metrics (AWS/Scheduler) exist only per
        # schedule group, shared here with every other schedule of the default group.
        self.schedule_alarm = self._alarm_on_any(
            dead_letter_queue.metric_number_of_messages_sent(period=_PERIOD, statistic="Sum"),
            "ScheduledStartsFailed",
            "EventBridge Scheduler could not start the AppStream image updater; the "
            "failed start is in the dead-letter queue with the reason.",
        )
        self.alarms: tuple[cloudwatch.Alarm, ...] = (self.execution_alarm, self.schedule_alarm)
        if max_patch_age_days:
            self.alarms += (self._patches_too_old(max_patch_age_days),)
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))

    @property
    def alarm_names(self) -> tuple[str, ...]:
        """The alarms' names as written in the template (no tokens)."""
        return tuple(self._name_prefix + alarm.node.id for alarm in self.alarms)

    def _patches_too_old(self, max_days: int) -> cloudwatch.Alarm:
        """The check step reports each lineage's patch age on every run that checks for
        updates (PatchAgeDays, domain/patch_age.py); this watches the oldest. Runs are days
        apart, so a period without data keeps the alarm as it was (IGNORE): it goes back to OK
        when a run measures patches within the limit, not because nothing was measured."""
        return cloudwatch.Alarm(
            self,
            "PatchesTooOld",
            alarm_name=self._name_prefix + "PatchesTooOld",
            metric=oldest_patches(),
            alarm_description=(
                f"An AppStream image's patches are more than {max_days} days old "
                "(maxPatchAgeDays): its lineage's newest image was last patched longer ago. "
                "See the dashboard's patch age widget and run `make run-now ARGS=status`."
            ),
            threshold=max_days,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        )

    def _alarm_on_any(
        self, metric: cloudwatch.IMetric, construct_id: str, description: str
    ) -> cloudwatch.Alarm:
        """Alarms as soon as the metric counts one; no data means nothing happened, so the
        alarm returns to OK and e-mails again on the next occurrence."""
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._name_prefix + construct_id,
            metric=metric,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def monitor(
    scope: Construct,
    state_machine: sfn.StateMachine,
    dead_letter_queue: sqs.IQueue,
    notifications: Notifications,
    max_patch_age_days: int = 0,
) -> Monitoring:
    """The alarms, and the topic's publishers: the state machine's role (sns:Publish granted
    by its SnsPublish tasks; the key granted here, in its identity policy, which the key
    policy's account statement lets count) and CloudWatch, for these alarms only."""
    monitoring = Monitoring(
        scope,
        "Monitoring",
        state_machine=state_machine,
        dead_letter_queue=dead_letter_queue,
        topic=notifications.topic,
        max_patch_age_days=max_patch_age_days,
    )
    notifications.key.grant(state_machine, "kms:Decrypt", "kms:GenerateDataKey")
    notifications.allow_alarms_to_publish(monitoring.alarm_names)
    return monitoring
