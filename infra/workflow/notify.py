"""The e-mail sub-flow: write it (Lambda), send it (SNS), mark an image's final report sent
(DynamoDB), return the image's result.

    Write the e-mail -> Send the e-mail -> Final report claimed? -> Mark the report sent -> Result
      | report failed      | not sent          | no                   | not marked
      v                    v                   v                      v
    Send the fallback e-mail -> Report failed     E-mail not sent     Result
    (a claimed report not sent stays CLAIMED: a later run sends it, see reports.CLAIM_HOLD)

If the report cannot be written, a plain fallback e-mail still goes out. Every ending, sent or
not, is an end state of the fragment, so whatever follows it follows all of them.

The mark is a direct DynamoDB UpdateItem (no Lambda to write, bill or time out), conditional on
this run still holding the claim; the state machine's role gets UpdateItem on the ledger only.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.update.reports import CLAIMED, REPORTED
from infra.workflow import states
from infra.workflow.emails import publish_text, send_email, write_email
from infra.workflow.fragment import Fragment, RolloutParts, image_result
from infra.workflow.tasks import Catch, Retry, guard

_NOTIFICATION_FIELDS = ("subject", "body", "outcome", "image", "failed", "newImageName")
_RESULT_FIELDS = ("image", "outcome", "failed", "newImageName")
# How Step Functions names DynamoDB's retryable errors in an optimized integration.
_DYNAMODB_TRANSIENT_ERRORS = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.AmazonDynamoDBException",
    "DynamoDB.SdkClientException",
)
_DYNAMODB_RETRY = Retry(_DYNAMODB_TRANSIENT_ERRORS, Duration.seconds(2), 4, 2.5, jitter=True)


class ReportAndSend(Fragment):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        parts: RolloutParts,
        *,
        report: lambda_.IFunction,
        for_refusal: bool = False,
        label: str = "",
        ledger: dynamodb.ITable | None = None,
    ) -> None:
        """`label` tells this use's states apart from another's (state names are unique in
        the whole state machine); a refusal has its own. With `ledger`, an image's final
        report is marked sent there once SNS accepted it. Sent to `parts.topic`; with a chat
        channel configured, every message is published with its chat form too (emails.py)."""
        super().__init__(scope, construct_id)
        topic, chat = parts.topic, parts.config.chat_configured
        label = states.REFUSAL_LABEL if for_refusal else label
        failed_result = (
            {"image": "-", "outcome": "FAILED", "failed": True}
            if for_refusal
            else image_result("FAILED", failed=True)
        )
        report_failed = sfn.Pass(self, states.REPORT_FAILED + label, parameters=failed_result)
        fallback = publish_text(
            self,
            states.SEND_THE_FALLBACK_EMAIL + label,
            topic,
            subject=f"AppStream image updater: a run needs attention{label}",
            text=sfn.JsonPath.format(
                "A run of the AppStream image updater failed and its report could not be "
                "written ({}). Open the run in the Step Functions console: {}",
                sfn.JsonPath.string_at("$.reportError.Error"),
                sfn.JsonPath.execution_id,
            ),
            next_step="Open the run in the Step Functions console to see which step failed.",
            chat=chat,
        )
        write = write_email(
            self,
            states.WRITE_THE_EMAIL + label,
            report,
            fields=(*_NOTIFICATION_FIELDS, *(("reportClaim",) if ledger else ())),
            catch=Catch(fallback.next(report_failed), "$.reportError"),
            chat=chat,
        )
        not_sent = sfn.Pass(self, states.EMAIL_NOT_SENT + label, parameters=failed_result)
        send = send_email(
            self,
            states.SEND_THE_EMAIL + label,
            topic,
            catch=Catch(not_sent, "$.sendError"),
            chat=chat,
        )
        result = sfn.Pass(
            self,
            states.RESULT + label,
            parameters={field + ".$": f"$.notification.{field}" for field in _RESULT_FIELDS},
        )
        write.next(send)
        if ledger is None:
            send.next(result)
        else:
            send.next(
                sfn.Choice(self, states.FINAL_REPORT_CLAIMED + label)
                .when(
                    sfn.Condition.is_not_null("$.notification.reportClaim"),
                    mark_report_sent(self, label, ledger, then=result),
                )
                .otherwise(result)
            )
        self.begins_with(write, result, not_sent, report_failed)


def mark_report_sent(
    scope: Construct, label: str, ledger: dynamodb.ITable, *, then: sfn.Pass
) -> tasks.DynamoUpdateItem:
    """REPORTED (kept for reports.REPORTED_KEEP), only while this run holds the claim. If it
    cannot be written, the e-mail went out all the same: the claim stays, and a run that finds
    it older than CLAIM_HOLD sends the report again (the one duplicate the README admits)."""

    def claim(field: str) -> str:
        return sfn.JsonPath.string_at(f"$.notification.reportClaim.{field}")

    mark = tasks.DynamoUpdateItem(
        scope,
        states.MARK_THE_REPORT_SENT + label,
        table=ledger,
        key={
            "pk": tasks.DynamoAttributeValue.from_string(claim("pk")),
            "sk": tasks.DynamoAttributeValue.from_string(claim("sk")),
        },
        update_expression="SET #status = :reported, expiresAt = :keepUntil",
        condition_expression="#status = :claimed AND claimer = :me",
        expression_attribute_names={"#status": "status"},
        expression_attribute_values={
            ":reported": tasks.DynamoAttributeValue.from_string(REPORTED),
            ":claimed": tasks.DynamoAttributeValue.from_string(CLAIMED),
            ":me": tasks.DynamoAttributeValue.from_string(claim("claimer")),
            ":keepUntil": tasks.DynamoAttributeValue.number_from_string(claim("keepUntil")),
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    not_marked = sfn.Pass(scope, states.REPORT_NOT_MARKED_SENT + label)
    guard(
        mark,
        retries=(_DYNAMODB_RETRY,),
        catch=Catch(not_marked.next(then), "$.markError"),
    )
    mark.next(then)
    return mark
