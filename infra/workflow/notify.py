"""The e-mail sub-flow: write it (Lambda), send it (SNS), return the image's result.

    Write the e-mail -> Send the e-mail -> Result
      | report failed      | not sent
      v                    v
    Send the fallback e-mail -> Report failed     E-mail not sent

If the report cannot be written, a plain fallback e-mail still goes out. Every ending, sent or
not, is an end state of the fragment, so whatever follows it follows all of them.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.workflow import states
from infra.workflow.tasks import invoke, with_execution

_NOTIFICATION_FIELDS = ("subject", "body", "outcome", "image", "failed", "newImageName")
_RESULT_FIELDS = ("image", "outcome", "failed", "newImageName")


class ReportAndSend(sfn.StateMachineFragment):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        report: lambda_.IFunction,
        topic: sns.ITopic,
        for_refusal: bool = False,
        label: str = "",
    ) -> None:
        """`label` tells this use's states apart from another's (state names are unique in
        the whole state machine); a refusal has its own."""
        super().__init__(scope, construct_id)
        label = states.REFUSAL_LABEL if for_refusal else label
        write = invoke(
            self,
            states.WRITE_THE_EMAIL + label,
            report,
            payload=with_execution("task"),
            result_selector={field + ".$": f"$.Payload.{field}" for field in _NOTIFICATION_FIELDS},
            result_path="$.notification",
        )
        send = tasks.SnsPublish(
            self,
            states.SEND_THE_EMAIL + label,
            topic=topic,
            subject=sfn.JsonPath.string_at("$.notification.subject"),
            message=sfn.TaskInput.from_json_path_at("$.notification.body"),
            message_attributes={
                "outcome": tasks.MessageAttribute(
                    value=sfn.JsonPath.string_at("$.notification.outcome")
                ),
                "image": tasks.MessageAttribute(
                    value=sfn.JsonPath.string_at("$.notification.image")
                ),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        send.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(5), max_attempts=3)
        failed_result = (
            {"image": "-", "outcome": "FAILED", "failed": True}
            if for_refusal
            else {"image.$": "$.rootImageName", "outcome": "FAILED", "failed": True}
        )
        not_sent = sfn.Pass(self, states.EMAIL_NOT_SENT + label, parameters=failed_result)
        send.add_catch(not_sent, result_path="$.sendError")
        fallback = tasks.SnsPublish(
            self,
            states.SEND_THE_FALLBACK_EMAIL + label,
            topic=topic,
            subject=f"AppStream image updater: a run needs attention{label}",
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "A run of the AppStream image updater failed and its report could not be "
                    "written ({}). Open the run in the Step Functions console: {}",
                    sfn.JsonPath.string_at("$.reportError.Error"),
                    sfn.JsonPath.execution_id,
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        fallback.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(5), max_attempts=3)
        report_failed = sfn.Pass(self, states.REPORT_FAILED + label, parameters=failed_result)
        write.add_catch(fallback.next(report_failed), result_path="$.reportError")
        result = sfn.Pass(
            self,
            states.RESULT + label,
            parameters={field + ".$": f"$.notification.{field}" for field in _RESULT_FIELDS},
        )
        write.next(send).next(result)
        self._start = write
        self._ends = [result, not_sent, report_failed]

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return list(self._ends)
