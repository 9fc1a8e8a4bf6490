"""The workflow's e-mail steps, in one place: the report function writes an e-mail into the
state (`$.notification`: subject, body, ...), SNS sends it. Every use (an image's report, the
breaker's pause, the roll-out's e-mails) goes through these, with its own catch."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.workflow.tasks import Catch, Retry, guard, invoke, task_input

NOTIFICATION = "$.notification"
SNS_RETRY = Retry((sfn.Errors.ALL,), Duration.seconds(5), 3)


def write_email(
    scope: Construct,
    name: str,
    report: lambda_.IFunction,
    *,
    fields: Sequence[str] = ("subject", "body"),
    outcome: str | None = None,
    catch: Catch | None = None,
) -> tasks.LambdaInvoke:
    """The report function writes the e-mail about the state (for `outcome`, when given); the
    `fields` it returns land at `$.notification`."""
    return invoke(
        scope,
        name,
        report,
        payload=task_input(executionArn=sfn.JsonPath.execution_id, outcome=outcome),
        result_selector={field + ".$": f"$.Payload.{field}" for field in fields},
        result_path=NOTIFICATION,
        catch=catch,
    )


def send_email(
    scope: Construct,
    name: str,
    topic: sns.ITopic,
    *,
    at: str = NOTIFICATION,
    outcome: str | None = None,
    image_at: str | None = None,
    catch: Catch | None = None,
) -> tasks.SnsPublish:
    """Sends the e-mail written at `at` (its subject and body). Its message attributes
    `outcome` and `image`, for subscribers' filters, come from the e-mail unless given (an
    outcome as a value, the image as a path)."""
    return publish(
        scope,
        name,
        topic,
        subject=sfn.JsonPath.string_at(f"{at}.subject"),
        message=sfn.TaskInput.from_json_path_at(f"{at}.body"),
        message_attributes={
            "outcome": tasks.MessageAttribute(
                value=outcome or sfn.JsonPath.string_at(f"{at}.outcome")
            ),
            "image": tasks.MessageAttribute(
                value=sfn.JsonPath.string_at(image_at or f"{at}.image")
            ),
        },
        catch=catch,
    )


def publish(
    scope: Construct,
    name: str,
    topic: sns.ITopic,
    *,
    subject: str,
    message: sfn.TaskInput,
    message_attributes: dict[str, tasks.MessageAttribute] | None = None,
    catch: Catch | None = None,
) -> tasks.SnsPublish:
    """A message to the topic, its result discarded; any error retried a few times, then
    caught by `catch` when given."""
    step = tasks.SnsPublish(
        scope,
        name,
        topic=topic,
        subject=subject,
        message=message,
        message_attributes=message_attributes,
        result_path=sfn.JsonPath.DISCARD,
    )
    return guard(step, retries=(SNS_RETRY,), catch=catch)
