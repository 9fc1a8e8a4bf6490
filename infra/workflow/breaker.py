"""The circuit breaker's sub-flow, between Summarize and the run's last choice:

    Record the run for the breaker -> Schedule paused?
        paused by this run -> Send the pause e-mail
        otherwise          -> Schedule left as it was
      | any error (after retries)      | not sent
      v                                v
    Breaker failed                   Pause e-mail not sent

Every ending is an end state of the fragment, so the run's own result (the choice that
follows) never depends on the breaker: its errors are kept at `$.breakerError` and the run
ends as its images decided. The step's result is at `$.breaker`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from image_updater.errors import TRANSIENT_ERRORS
from infra.workflow import states
from infra.workflow.emails import chat_request, send_email
from infra.workflow.fragment import Fragment
from infra.workflow.tasks import Catch, Retry, invoke

_RESULT_FIELDS = ("action", "paused", "consecutiveFailedRuns", "notification")


class RecordForTheBreaker(Fragment):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        breaker: lambda_.IFunction,
        topic: sns.ITopic,
        chat: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        failed = sfn.Pass(self, states.BREAKER_FAILED)
        record = invoke(
            self,
            states.RECORD_THE_RUN,
            breaker,
            payload=sfn.TaskInput.from_object(
                {
                    "executionArn": sfn.JsonPath.execution_id,
                    "startedBy": sfn.JsonPath.string_at("$.startedBy"),
                    "dryRun": sfn.JsonPath.string_at("$.dryRun"),
                    "anyFailed": sfn.JsonPath.string_at("$.anyFailed"),
                    "anyUnchecked": sfn.JsonPath.string_at("$.anyUnchecked"),
                    **chat_request(chat),
                }
            ),
            result_selector={field + ".$": f"$.Payload.{field}" for field in _RESULT_FIELDS},
            result_path="$.breaker",
            # Counting and claiming the pause are idempotent per run: a retry counts nothing
            # twice.
            retries=(Retry(TRANSIENT_ERRORS, Duration.seconds(10), 3, 1.5, jitter=True),),
            catch=Catch(failed, "$.breakerError"),
        )
        not_sent = sfn.Pass(self, states.PAUSE_EMAIL_NOT_SENT)
        send = send_email(
            self,
            states.SEND_THE_PAUSE_EMAIL,
            topic,
            at="$.breaker.notification",
            catch=Catch(not_sent, "$.breakerError"),
            chat=chat,
        )
        left = sfn.Pass(self, states.SCHEDULE_LEFT_AS_IT_WAS)
        record.next(
            sfn.Choice(self, states.SCHEDULE_PAUSED)
            .when(sfn.Condition.boolean_equals("$.breaker.paused", True), send)
            .otherwise(left)
        )
        self.begins_with(record, send, not_sent, left, failed)
